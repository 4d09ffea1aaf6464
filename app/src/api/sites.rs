//! `/api/v1/sites`, `/buildings`, `/locations`.

use gozcu_shared::inventory::{Building, Location, Site, SiteTree};

use super::ApiFailure;

pub async fn list() -> Result<Vec<Site>, ApiFailure> {
    super::get("/sites", &[]).await
}

pub async fn tree() -> Result<Vec<SiteTree>, ApiFailure> {
    super::get("/sites/tree", &[]).await
}

pub async fn create(s: &Site) -> Result<Site, ApiFailure> {
    super::post("/sites", s).await
}

pub async fn create_building(b: &Building) -> Result<Building, ApiFailure> {
    super::post("/buildings", b).await
}

pub async fn create_location(l: &Location) -> Result<Location, ApiFailure> {
    super::post("/locations", l).await
}
