//! `/api/v1/faults`: what needs the server — the workflow (status changes,
//! assignment, closing with a fault form), editing, and who may be given a
//! fault. Opening a fault and adding notes go through the sync instead
//! ([`crate::sync::faults`]), so that they work offline.

use gozcu_shared::api_fieldwork::{
    FaultAssign, FaultAssignee, FaultDetail, FaultTransition, FaultUpdate,
};
use uuid::Uuid;

use super::ApiFailure;

pub async fn transition(id: Uuid, req: &FaultTransition) -> Result<FaultDetail, ApiFailure> {
    super::post(&format!("/faults/{id}/transition"), req).await
}

pub async fn assign(id: Uuid, req: &FaultAssign) -> Result<FaultDetail, ApiFailure> {
    super::post(&format!("/faults/{id}/assign"), req).await
}

pub async fn edit(id: Uuid, req: &FaultUpdate) -> Result<FaultDetail, ApiFailure> {
    super::put(&format!("/faults/{id}"), req).await
}

pub async fn assignees(id: Uuid) -> Result<Vec<FaultAssignee>, ApiFailure> {
    super::get(&format!("/faults/{id}/assignees"), &[]).await
}
