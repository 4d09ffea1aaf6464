//! Official papers as PDF: a completed checklist run (a site survey prints
//! as a keşif tutanağı), the fixed-asset hand-over of a site's devices, and
//! QR label sheets; plus the report templates an administrator may edit.
//!
//! Every paper gets a document number and an audit entry (`export`). The
//! typesetting itself (`crate::reports`) is CPU-bound and needs a few
//! hundred megabytes for a photo-heavy report, so it runs on a blocking
//! thread and at most two at a time.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use gozcu_shared::checklists::{
    answer_text, ItemKind, Purpose, RunDetail, RunStatus, Signature as SignatureAnswer,
};
use gozcu_shared::inventory::{Camera, DeviceKind, Recorder, Switch};
use gozcu_shared::photos::PhotoHash;
use gozcu_shared::schedules::UtcOffset;
use gozcu_shared::validate::Date;
use gozcu_shared::{ErrorCode, FieldError, Lang, Permission};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{AnyConnection, Row};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::checklists::run_detail;
use super::extract::{Json, Query};
use super::{Access, AppError, AppResult, Ctx, Route};
use crate::app::App;
use crate::audit::{self, Event};
use crate::inventory::devices as repo;
use crate::reports::{
    self, Answer, HandoverDevice, HandoverReport, Images, Label, LabelLayout, Report, ReportDate,
    ReportError, ReportHeader, ReportKind, RunReport, Section, Signature, SurveyReport,
};

/// Renders at the same time; more wait their turn.
static RENDERS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(2));

pub fn routes() -> Vec<Route> {
    use Permission::*;
    vec![
        Route {
            method: Method::GET,
            path: "/api/v1/checklists/runs/{id}/report.pdf",
            access: Access::Permission(InventoryRead),
            tag: "reports",
            summary: "A completed run as a signed PDF (a site survey as keşif tutanağı)",
            request: None,
            response: None,
            handler: get(run_pdf),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/reports/handover",
            access: Access::Permission(ReportsGenerate),
            tag: "reports",
            summary: "Demirbaş devir teslim tutanağı of a site's devices (?site_id&handed_over_by&received_by)",
            request: None,
            response: None,
            handler: get(handover_pdf),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/reports/labels",
            access: Access::Permission(ReportsGenerate),
            tag: "reports",
            summary: "A sheet of QR labels, one per device of a site (?site_id&kind)",
            request: None,
            response: None,
            handler: get(labels_pdf),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/reports/templates/{kind}",
            access: Access::Permission(TemplatesManage),
            tag: "reports",
            summary: "The typst source a report kind is printed with",
            request: None,
            response: Some("ReportTemplate"),
            handler: get(get_template).put(put_template),
        },
    ]
}

/// A report template as an administrator sees and edits it.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReportTemplate {
    pub source: String,
    /// Whether this is the built-in one (no edit stored).
    #[serde(default)]
    pub builtin: bool,
}

fn parse_kind(kind: &str) -> AppResult<ReportKind> {
    ReportKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(AppError::not_found)
}

async fn stored_template(
    conn: &mut AnyConnection,
    kind: ReportKind,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT source FROM report_templates WHERE kind = $1")
        .bind(kind.as_str())
        .fetch_optional(&mut *conn)
        .await
}

async fn template_source(
    conn: &mut AnyConnection,
    kind: ReportKind,
) -> Result<String, sqlx::Error> {
    Ok(stored_template(conn, kind)
        .await?
        .unwrap_or_else(|| reports::builtin_template(kind).to_owned()))
}

async fn get_template(
    State(app): State<App>,
    Path(kind): Path<String>,
) -> AppResult<Json<ReportTemplate>> {
    let kind = parse_kind(&kind)?;
    let mut conn = app.db.pool.acquire().await?;
    Ok(Json(match stored_template(&mut conn, kind).await? {
        Some(source) => ReportTemplate {
            source,
            builtin: false,
        },
        None => ReportTemplate {
            source: reports::builtin_template(kind).to_owned(),
            builtin: true,
        },
    }))
}

/// Stores an edited template after printing a sample with it, so a broken
/// template is refused with its line and message instead of breaking the
/// next official paper.
async fn put_template(
    State(app): State<App>,
    ctx: Ctx,
    Path(kind): Path<String>,
    Json(body): Json<ReportTemplate>,
) -> AppResult<Json<ReportTemplate>> {
    let kind = parse_kind(&kind)?;
    let source = body.source.clone();
    let trial = tokio::task::spawn_blocking(move || sample(kind, &source))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    if let Err(e) = trial {
        return Err(template_error(e));
    }
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let before = stored_template(tx.conn(), kind).await?;
    sqlx::query("DELETE FROM report_templates WHERE kind = $1")
        .bind(kind.as_str())
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO report_templates (kind, source, updated_by, updated_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(kind.as_str())
    .bind(body.source.clone())
    .bind(ctx.user.username.clone())
    .bind(now)
    .execute(tx.conn())
    .await?;
    audit::append(
        &mut tx,
        app.db.backend,
        now,
        &ctx.actor(),
        Event {
            action: "update",
            entity_type: "report_template",
            entity_id: Some(kind.as_str().to_owned()),
            before: before.map(Value::String),
            after: Some(Value::String(body.source.clone())),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Json(ReportTemplate {
        source: body.source,
        builtin: false,
    }))
}

/// Prints a small sample of `kind` with `source`.
fn sample(kind: ReportKind, source: &str) -> Result<Vec<u8>, ReportError> {
    match kind {
        ReportKind::Labels => {
            let header = reports::sample_survey(1, 0).0.header;
            let labels = [Label {
                device_id: Uuid::nil(),
                title: "Örnek kamera".into(),
                subtitle: None,
            }];
            reports::labels_pdf_with(source, &header, &labels, &LabelLayout::default())
        }
        ReportKind::Survey => {
            let (report, images) = reports::sample_survey(1, 1);
            reports::report_pdf_with(source, &report, &images)
        }
        ReportKind::Run => {
            let (survey, images) = reports::sample_survey(1, 1);
            let report = RunReport {
                header: survey.header,
                template_title: "Örnek kontrol listesi".into(),
                template_version: 1,
                target: survey.site,
                technician: "Örnek Teknisyen".into(),
                started_at: survey.surveyed_at.clone(),
                completed_at: Some(survey.surveyed_at),
                gps: Some(reports::Gps {
                    lat: 41.0,
                    lon: 29.0,
                    accuracy_m: Some(10.0),
                }),
                sections: survey.sections,
                photos: survey.photos,
                signatures: survey.signatures,
            };
            reports::report_pdf_with(source, &report, &images)
        }
        ReportKind::Handover => {
            let survey = reports::sample_survey(1, 0).0;
            let report = HandoverReport {
                header: survey.header,
                site: survey.site,
                location: None,
                handed_over_by: "Örnek Kişi".into(),
                received_by: "Örnek Kişi".into(),
                handed_over_at: survey.surveyed_at,
                devices: vec![HandoverDevice {
                    kind: "Kamera".into(),
                    make: Some("Axis".into()),
                    model: None,
                    serial: Some("ÖRNEK-1".into()),
                    mac: None,
                    ip: None,
                    name: Some("Örnek kamera".into()),
                    location: Some("Örnek saha / A Blok / Giriş".into()),
                    asset_no: None,
                }],
                notes: None,
                signatures: survey.signatures,
            };
            reports::report_pdf_with(source, &report, &Images::new())
        }
    }
}

fn template_error(e: ReportError) -> AppError {
    match e {
        ReportError::Template(_) | ReportError::Export(_) | ReportError::Input(_) => {
            AppError::Api {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: ErrorCode::Validation,
                fields: vec![FieldError::new("source", ErrorCode::Validation)],
                detail: Some(e.to_string()),
            }
        }
        ReportError::Internal(_) => AppError::Internal(anyhow::anyhow!(e.to_string())),
    }
}

/// Takes the next document number of this year.
async fn document_number(
    conn: &mut AnyConnection,
    app: &App,
    ctx: &Ctx,
    kind: ReportKind,
    ref_id: Option<String>,
    today: Date,
) -> Result<String, sqlx::Error> {
    let year = i64::from(today.year);
    let last: Option<i64> =
        sqlx::query_scalar("SELECT MAX(seq) FROM report_documents WHERE year = $1")
            .bind(year)
            .fetch_one(&mut *conn)
            .await?;
    let seq = last.unwrap_or(0) + 1;
    let number = format!("GZC-{year}-{seq:06}");
    sqlx::query(
        "INSERT INTO report_documents (number, year, seq, kind, ref_id, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(number.clone())
    .bind(year)
    .bind(seq)
    .bind(kind.as_str())
    .bind(ref_id)
    .bind(ctx.user.username.clone())
    .bind(app.now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(number)
}

fn header(app: &App, document_no: String, today: Date, lang: Lang) -> ReportHeader {
    ReportHeader {
        institution: app.settings.institution.clone(),
        unit: app.settings.unit.clone(),
        document_no,
        date: ReportDate {
            year: today.year,
            month: today.month,
            day: today.day,
        },
        logo_sha256: None,
        footer: None,
        lang: match lang {
            Lang::Tr => reports::Lang::Tr,
            Lang::En => reports::Lang::En,
        },
    }
}

/// Reads the photos a report names that have arrived; the rest print as
/// placeholders.
async fn images(app: &App, hashes: &[String]) -> Images {
    let mut out = Images::new();
    for h in hashes {
        let Some(hash) = PhotoHash::parse(h) else {
            continue;
        };
        if let Ok(bytes) = tokio::fs::read(app.photos.photo_path(&hash)).await {
            out.insert(h.clone(), bytes);
        }
    }
    out
}

/// A time as the institution's clocks showed it (`Settings::utc_offset`).
fn time_text(ms: i64, tz: UtcOffset, lang: Lang) -> String {
    let local = ms + i64::from(tz.minutes()) * 60_000;
    let date = tz.date_of(ms);
    let minutes = local.rem_euclid(86_400_000) / 60_000;
    let time = format!("{:02}:{:02}", minutes / 60, minutes % 60);
    match lang {
        Lang::Tr => format!("{:02}.{:02}.{} {time}", date.day, date.month, date.year),
        Lang::En => format!("{date} {time}"),
    }
}

/// Renders a report on a blocking thread, behind the render limit.
async fn render<R: Report + Send + 'static>(
    report: R,
    source: String,
    images: Images,
) -> AppResult<Vec<u8>> {
    let _permit = RENDERS
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    tokio::task::spawn_blocking(move || reports::report_pdf_with(&source, &report, &images))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(template_error)
}

fn pdf(bytes: Vec<u8>, filename: &str) -> Response {
    let mut resp = Response::new(Body::from(bytes));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

async fn audit_export(
    app: &App,
    ctx: &Ctx,
    kind: ReportKind,
    id: String,
    number: &str,
) -> AppResult<()> {
    let mut tx = app.db.begin_write().await?;
    audit::append(
        &mut tx,
        app.db.backend,
        app.now_ms(),
        &ctx.actor(),
        Event {
            action: "export",
            entity_type: "report",
            entity_id: Some(id),
            before: None,
            after: Some(serde_json::json!({"kind": kind.as_str(), "document_no": number})),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
struct LangParam {
    lang: Option<String>,
}

fn lang_of(p: &LangParam) -> Lang {
    match p.lang.as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Tr,
    }
}

/// The sections, photos and signatures of a run, as the reports print them.
fn run_content(
    d: &RunDetail,
    tz: UtcOffset,
    lang: Lang,
) -> (
    Vec<Section>,
    Vec<reports::Photo>,
    Vec<Signature>,
    Vec<String>,
) {
    let mut sections = Vec::new();
    let mut photos = Vec::new();
    let mut signatures = Vec::new();
    let mut hashes = Vec::new();
    let visible = gozcu_shared::checklists::visible_items(&d.template, &d.answers);
    for s in &d.template.sections {
        let mut answers = Vec::new();
        for item in s.items.iter().filter(|i| visible.contains(&i.id)) {
            let value = d.answers.get(&item.id).cloned().unwrap_or(Value::Null);
            match (&item.kind, &value) {
                (ItemKind::Signature, Value::Object(_)) => {
                    if let Ok(sig) = serde_json::from_value::<SignatureAnswer>(value.clone()) {
                        hashes.push(sig.image_sha256.clone());
                        signatures.push(Signature {
                            role_label: item.label.get(lang).to_owned(),
                            signer: Some(sig.signer),
                            signed_at: Some(time_text(sig.signed_at_ms, tz, lang)),
                            image_sha256: Some(sig.image_sha256),
                        });
                    }
                    continue;
                }
                (ItemKind::Signature, _) => {
                    // Unsigned: an empty block to sign on paper.
                    signatures.push(Signature {
                        role_label: item.label.get(lang).to_owned(),
                        signer: None,
                        signed_at: None,
                        image_sha256: None,
                    });
                    continue;
                }
                _ => {}
            }
            let item_photos: Vec<String> = match (&item.kind, &value) {
                (ItemKind::Photo { .. }, Value::Array(list)) => list
                    .iter()
                    .filter_map(|p| p.get("sha256").and_then(Value::as_str).map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            for h in &item_photos {
                hashes.push(h.clone());
                photos.push(reports::Photo {
                    sha256: h.clone(),
                    caption: item.label.get(lang).to_owned(),
                });
            }
            let amended = d
                .amendments
                .iter()
                .rfind(|a| a.item_id == item.id)
                .map(|a| reports::Amendment {
                    old: answer_text(item, &a.old, lang),
                    reason: a.reason.clone(),
                    by: a.by.to_string(),
                    at: time_text(a.at_ms, tz, lang),
                });
            answers.push(Answer {
                label: item.label.get(lang).to_owned(),
                value_text: answer_text(item, &value, lang),
                photos: item_photos,
                amended,
            });
        }
        sections.push(Section {
            title: s.title.get(lang).to_owned(),
            answers,
        });
    }
    (sections, photos, signatures, hashes)
}

async fn target_name(conn: &mut AnyConnection, d: &RunDetail) -> Result<String, sqlx::Error> {
    let id = d.run.target_id;
    let name = match d.run.target_kind {
        gozcu_shared::checklists::TargetKind::Camera => {
            repo::get_in::<Camera>(conn, &id).await?.map(|c| c.name)
        }
        gozcu_shared::checklists::TargetKind::Recorder => {
            repo::get_in::<Recorder>(conn, &id).await?.map(|c| c.name)
        }
        gozcu_shared::checklists::TargetKind::Switch => {
            repo::get_in::<Switch>(conn, &id).await?.map(|c| c.name)
        }
        gozcu_shared::checklists::TargetKind::Site => None,
    };
    let site: Option<String> = sqlx::query_scalar("SELECT name FROM sites WHERE id = $1")
        .bind(d.run.site_id.unwrap_or_default().to_string())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match (name, site) {
        (Some(n), Some(s)) => format!("{n} — {s}"),
        (None, Some(s)) => s,
        (Some(n), None) => n,
        (None, None) => id.to_string(),
    })
}

async fn run_pdf(
    State(app): State<App>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Query(p): Query<LangParam>,
) -> AppResult<Response> {
    let lang = lang_of(&p);
    let today = app.today();
    let mut conn = app.db.pool.acquire().await?;
    let d = run_detail(&mut conn, &ctx, &id).await?;
    if d.run.status != RunStatus::Completed {
        return Err(AppError::conflict(vec![FieldError::new(
            "status",
            ErrorCode::RunNotCompleted,
        )]));
    }
    let target = target_name(&mut conn, &d).await?;
    drop(conn);
    let (sections, photos, signatures, hashes) = run_content(&d, app.settings.utc_offset, lang);
    let images = images(&app, &hashes).await;
    let survey = d.template.purpose == Purpose::SiteSurvey;
    let kind = if survey {
        ReportKind::Survey
    } else {
        ReportKind::Run
    };
    let number = {
        let mut tx = app.db.begin_write().await?;
        let n = document_number(tx.conn(), &app, &ctx, kind, Some(id.to_string()), today).await?;
        tx.commit().await?;
        n
    };
    let mut conn = app.db.pool.acquire().await?;
    let source = template_source(&mut conn, kind).await?;
    drop(conn);
    let header = header(&app, number.clone(), today, lang);
    let technician = d.run.completed_by.clone().unwrap_or_default();
    let completed_at = d
        .run
        .completed_at_ms
        .map(|t| time_text(t, app.settings.utc_offset, lang));
    let bytes = if survey {
        render(
            SurveyReport {
                header,
                site: target.clone(),
                location: None,
                requesting_unit: String::new(),
                surveyed_at: completed_at.unwrap_or_default(),
                participants: vec![technician],
                sections,
                photos,
                conclusion: None,
                signatures,
            },
            source,
            images,
        )
        .await?
    } else {
        render(
            RunReport {
                header,
                template_title: d.template.title.get(lang).to_owned(),
                template_version: d.template.version,
                target,
                technician,
                started_at: time_text(d.run.started_at_ms, app.settings.utc_offset, lang),
                completed_at,
                gps: d.run.gps.map(|g| reports::Gps {
                    lat: g.lat,
                    lon: g.lon,
                    accuracy_m: g.accuracy_m,
                }),
                sections,
                photos,
                signatures,
            },
            source,
            images,
        )
        .await?
    };
    audit_export(&app, &ctx, kind, id.to_string(), &number).await?;
    Ok(pdf(bytes, &format!("{number}.pdf")))
}

#[derive(Debug, Deserialize)]
struct SiteParams {
    site_id: Uuid,
    kind: Option<String>,
    handed_over_by: Option<String>,
    received_by: Option<String>,
    lang: Option<String>,
}

/// The devices of a site the caller may see.
async fn site_devices(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    site_id: &Uuid,
    only: Option<DeviceKind>,
) -> AppResult<(String, Vec<(DeviceKind, Uuid, Value)>)> {
    if !ctx.in_scope(site_id) {
        return Err(AppError::not_found());
    }
    let site: Option<String> = sqlx::query_scalar("SELECT name FROM sites WHERE id = $1")
        .bind(site_id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    let site = site.ok_or_else(AppError::not_found)?;
    let mut out = Vec::new();
    for kind in [DeviceKind::Camera, DeviceKind::Recorder, DeviceKind::Switch] {
        if only.is_some_and(|o| o != kind) {
            continue;
        }
        let table = match kind {
            DeviceKind::Camera => "cameras",
            DeviceKind::Recorder => "recorders",
            DeviceKind::Switch => "switches",
        };
        let ids: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT id FROM {table} WHERE site_id = $1 ORDER BY name"
        ))
        .bind(site_id.to_string())
        .fetch_all(&mut *conn)
        .await?;
        for id in ids {
            let id = Uuid::parse_str(&id).map_err(|e| AppError::Internal(e.into()))?;
            let value = match kind {
                DeviceKind::Camera => {
                    serde_json::to_value(repo::get_in::<Camera>(conn, &id).await?)
                }
                DeviceKind::Recorder => {
                    serde_json::to_value(repo::get_in::<Recorder>(conn, &id).await?)
                }
                DeviceKind::Switch => {
                    serde_json::to_value(repo::get_in::<Switch>(conn, &id).await?)
                }
            }
            .map_err(|e| AppError::Internal(e.into()))?;
            out.push((kind, id, value));
        }
    }
    Ok((site, out))
}

/// Where each location of a site is, as "Site / Building / Location", by
/// location id.
async fn location_paths(
    conn: &mut AnyConnection,
    site_id: &Uuid,
    site: &str,
) -> AppResult<HashMap<String, String>> {
    let rows = sqlx::query(
        "SELECT l.id, b.name, l.name FROM locations l JOIN buildings b ON b.id = l.building_id \
         WHERE b.site_id = $1",
    )
    .bind(site_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let (id, building, location): (String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            Ok((id, format!("{site} / {building} / {location}")))
        })
        .collect()
}

fn text(v: &Value, field: &str) -> Option<String> {
    v.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn kind_label(kind: DeviceKind, lang: Lang) -> &'static str {
    match (kind, lang) {
        (DeviceKind::Camera, Lang::Tr) => "Kamera",
        (DeviceKind::Camera, Lang::En) => "Camera",
        (DeviceKind::Recorder, Lang::Tr) => "Kayıt cihazı",
        (DeviceKind::Recorder, Lang::En) => "Recorder",
        (DeviceKind::Switch, Lang::Tr) => "Ağ anahtarı",
        (DeviceKind::Switch, Lang::En) => "Switch",
    }
}

async fn handover_pdf(
    State(app): State<App>,
    ctx: Ctx,
    Query(p): Query<SiteParams>,
) -> AppResult<Response> {
    let lang = lang_of(&LangParam {
        lang: p.lang.clone(),
    });
    let today = app.today();
    let mut conn = app.db.pool.acquire().await?;
    let (site, devices) = site_devices(&mut conn, &ctx, &p.site_id, None).await?;
    let paths = location_paths(&mut conn, &p.site_id, &site).await?;
    let source = template_source(&mut conn, ReportKind::Handover).await?;
    drop(conn);
    let number = {
        let mut tx = app.db.begin_write().await?;
        let n = document_number(
            tx.conn(),
            &app,
            &ctx,
            ReportKind::Handover,
            Some(p.site_id.to_string()),
            today,
        )
        .await?;
        tx.commit().await?;
        n
    };
    let role = |tr: &str, en: &str| match lang {
        Lang::Tr => tr.to_owned(),
        Lang::En => en.to_owned(),
    };
    let handed_over_by = p.handed_over_by.clone().unwrap_or_default();
    let received_by = p.received_by.clone().unwrap_or_default();
    let report = HandoverReport {
        header: header(&app, number.clone(), today, lang),
        site: site.clone(),
        location: None,
        handed_over_by: handed_over_by.clone(),
        received_by: received_by.clone(),
        handed_over_at: time_text(app.now_ms(), app.settings.utc_offset, lang),
        devices: devices
            .iter()
            .map(|(kind, _, v)| HandoverDevice {
                kind: kind_label(*kind, lang).to_owned(),
                make: text(v, "make"),
                model: text(v, "model"),
                serial: text(v, "serial"),
                mac: text(v, "mac"),
                ip: text(v, "ip"),
                name: text(v, "name"),
                // A device not placed yet is known to be at its site.
                location: Some(
                    text(v, "location_id")
                        .and_then(|l| paths.get(&l).cloned())
                        .unwrap_or_else(|| site.clone()),
                ),
                asset_no: text(v, "asset_number"),
            })
            .collect(),
        notes: None,
        signatures: vec![
            Signature {
                role_label: role("Teslim Eden", "Handed over by"),
                signer: (!handed_over_by.is_empty()).then_some(handed_over_by),
                signed_at: None,
                image_sha256: None,
            },
            Signature {
                role_label: role("Teslim Alan", "Received by"),
                signer: (!received_by.is_empty()).then_some(received_by),
                signed_at: None,
                image_sha256: None,
            },
        ],
    };
    let bytes = render(report, source, Images::new()).await?;
    audit_export(
        &app,
        &ctx,
        ReportKind::Handover,
        p.site_id.to_string(),
        &number,
    )
    .await?;
    Ok(pdf(bytes, &format!("{number}.pdf")))
}

async fn labels_pdf(
    State(app): State<App>,
    ctx: Ctx,
    Query(p): Query<SiteParams>,
) -> AppResult<Response> {
    let only = match p.kind.as_deref() {
        None | Some("") => None,
        Some("camera") => Some(DeviceKind::Camera),
        Some("recorder") => Some(DeviceKind::Recorder),
        Some("switch") => Some(DeviceKind::Switch),
        Some(_) => {
            return Err(AppError::validation(vec![FieldError::new(
                "kind",
                ErrorCode::Validation,
            )]))
        }
    };
    let today = app.today();
    let lang = lang_of(&LangParam {
        lang: p.lang.clone(),
    });
    let mut conn = app.db.pool.acquire().await?;
    let (site, devices) = site_devices(&mut conn, &ctx, &p.site_id, only).await?;
    let source = template_source(&mut conn, ReportKind::Labels).await?;
    drop(conn);
    let labels: Vec<Label> = devices
        .iter()
        .map(|(kind, id, v)| Label {
            device_id: *id,
            title: text(v, "name").unwrap_or_else(|| id.to_string()),
            subtitle: Some(format!(
                "{} · {}",
                kind_label(*kind, lang),
                text(v, "serial").unwrap_or_else(|| site.clone())
            )),
        })
        .collect();
    let header = header(&app, String::new(), today, lang);
    let _permit = RENDERS
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let bytes = tokio::task::spawn_blocking(move || {
        reports::labels_pdf_with(&source, &header, &labels, &LabelLayout::default())
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(template_error)?;
    audit_export(
        &app,
        &ctx,
        ReportKind::Labels,
        p.site_id.to_string(),
        "labels",
    )
    .await?;
    Ok(pdf(bytes, "etiketler.pdf"))
}
