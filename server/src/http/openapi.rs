//! The OpenAPI document, built from the route table so it lists exactly the
//! endpoints that exist, each with the permission it needs.

use gozcu_shared::api::{
    AuditEntry, DeviceCredentials, ImportReport, LoginRequest, SessionInfo, User, UserInput,
    WarrantyAck, WarrantyItem,
};
use gozcu_shared::api_fieldwork::{
    CalendarDay, DueEntry, DueReport, Fault, FaultAssign, FaultAssignee, FaultDetail, FaultEvent,
    FaultEventKind, FaultNote, FaultTransition, FaultUpdate, MaintenanceCalendar, SiteDue,
};
use gozcu_shared::faults::{DeviceRef, FaultStatus, NewFault, Severity};
use gozcu_shared::inventory::{
    AssetFields, Building, BuildingTree, Camera, DeviceKind, DeviceStatus, Location, Recorder,
    Site, SiteTree, Switch,
};
use gozcu_shared::photos::{PhotoUploadRequest, PhotoUploadStatus};
use gozcu_shared::schedules::{DueItem, Schedule, ScheduleTarget};
use gozcu_shared::{ApiError, ErrorCode, FieldError, Role};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{ArrayBuilder, OpenApi as Doc, Ref, RefOr, ResponseBuilder, Schema};
use utoipa::OpenApi;

use super::{routes, Access};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gözcü API",
        description = "Inventory, accounts and audit of a security-camera fleet. Log in with POST /api/v1/auth/login; send X-CSRF-Token on mutations."
    ),
    components(schemas(
        ApiError,
        ErrorCode,
        FieldError,
        Role,
        LoginRequest,
        SessionInfo,
        User,
        UserInput,
        DeviceCredentials,
        ImportReport,
        WarrantyItem,
        WarrantyAck,
        AuditEntry,
        Site,
        Building,
        Location,
        SiteTree,
        BuildingTree,
        AssetFields,
        DeviceStatus,
        DeviceKind,
        Camera,
        Recorder,
        Switch,
        PhotoUploadRequest,
        PhotoUploadStatus,
        Severity,
        FaultStatus,
        DeviceRef,
        NewFault,
        Fault,
        FaultEventKind,
        FaultEvent,
        FaultDetail,
        FaultNote,
        FaultTransition,
        FaultAssign,
        FaultAssignee,
        FaultUpdate,
        ScheduleTarget,
        Schedule,
        DueItem,
        DueEntry,
        SiteDue,
        DueReport,
        CalendarDay,
        MaintenanceCalendar
    ))
)]
struct Components;

fn schema_ref(name: &str) -> RefOr<Schema> {
    match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(inner) => RefOr::T(Schema::Array(
            ArrayBuilder::new()
                .items(Ref::from_schema_name(inner))
                .build(),
        )),
        // `Page` is generic; described loosely as { items, total }.
        None if name == "Page" => RefOr::T(Schema::Object(
            utoipa::openapi::ObjectBuilder::new()
                .property("items", ArrayBuilder::new())
                .property(
                    "total",
                    utoipa::openapi::ObjectBuilder::new()
                        .schema_type(utoipa::openapi::schema::Type::Integer),
                )
                .build(),
        )),
        None => RefOr::Ref(Ref::from_schema_name(name)),
    }
}

pub fn document() -> Doc {
    let mut doc = Components::openapi();
    for r in routes() {
        let method = match r.method.as_str() {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "DELETE" => HttpMethod::Delete,
            "PATCH" => HttpMethod::Patch,
            other => unreachable!("route table uses only GET/POST/PUT/DELETE/PATCH, got {other}"),
        };
        let access = match r.access {
            Access::Public => "Public.".to_owned(),
            Access::Session => "Any logged-in user.".to_owned(),
            Access::Permission(p) => format!(
                "Requires permission `{}`.",
                serde_json::to_value(p)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            ),
        };
        let ok = match r.response {
            Some(name) => ResponseBuilder::new()
                .description("OK")
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(schema_ref(name))).build(),
                )
                .build(),
            None => ResponseBuilder::new().description("Done").build(),
        };
        let error = ResponseBuilder::new()
            .description("Error")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(schema_ref("ApiError")))
                    .build(),
            )
            .build();
        let mut op = OperationBuilder::new()
            .summary(Some(r.summary))
            .description(Some(access))
            .tag(r.tag)
            .response("200", ok)
            .response("4XX", error);
        if let Some(name) = r.request {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        "application/json",
                        ContentBuilder::new().schema(Some(schema_ref(name))).build(),
                    )
                    .build(),
            ));
        }
        doc.paths
            .add_path_operation(r.path, vec![method], op.build());
    }
    doc
}
