//! `/api/v1/warranty`.

use gozcu_shared::api::{WarrantyAck, WarrantyItem};

use super::ApiFailure;

pub async fn list(
    within_days: u32,
    include_acknowledged: bool,
) -> Result<Vec<WarrantyItem>, ApiFailure> {
    super::get(
        "/warranty",
        &[
            ("within_days", within_days.to_string()),
            ("include_acknowledged", include_acknowledged.to_string()),
        ],
    )
    .await
}

pub async fn acknowledge(ack: &WarrantyAck) -> Result<(), ApiFailure> {
    super::post_no_content("/warranty/ack", ack).await
}
