//! A device's detail page: the edit form (or the create form for
//! `/…/new`), the credentials panel and links to its history.
//!
//! The form reads and writes the offline replica: a save records a
//! mutation in the outbox (see [`crate::sync`]) and works the same with no
//! network; sites, locations and recorders for the selects come from the
//! replica too. Every keystroke re-runs the shared `normalize()` of the
//! device type, so the user sees exactly the rules the server applies; what
//! only the server can judge (duplicates) comes back as a rejection on the
//! sync page. Credentials never travel through sync: that panel needs a
//! connection.

use gozcu_shared::api::DeviceCredentials;
use gozcu_shared::inventory::{AssetFields, Camera, DeviceKind, DeviceStatus, Recorder, Switch};
use gozcu_shared::sync::{EntityKind, EntityRef, RecordKey};
use gozcu_shared::{ErrorCode, FieldError, Permission};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::NavigateOptions;
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::alert::{ErrorBanner, OkBanner};
use crate::components::form::{
    opt_number, opt_text, opt_uuid, put, put_opt, text, CheckField, Form, OrphanErrors,
    SelectField, TextArea, TextField, Values,
};
use crate::i18n::{t, tr, use_lang, K};
use crate::routes::checklists::RunsPanel;
use crate::routes::faults::FaultsPanel;
use crate::session::{can, kind_path};
use crate::sync::{self, track, ChangeError};
use gozcu_shared::checklists::TargetKind;

/// One device of any kind, so that one editor serves all three.
#[derive(Clone)]
enum AnyDevice {
    Camera(Camera),
    Recorder(Recorder),
    Switch(Switch),
}

impl AnyDevice {
    fn new(kind: DeviceKind) -> AnyDevice {
        let asset = AssetFields {
            status: DeviceStatus::Installed,
            ..Default::default()
        };
        match kind {
            DeviceKind::Camera => AnyDevice::Camera(Camera {
                asset,
                ..Default::default()
            }),
            DeviceKind::Recorder => AnyDevice::Recorder(Recorder {
                asset,
                channels: 16,
                ..Default::default()
            }),
            DeviceKind::Switch => AnyDevice::Switch(Switch {
                asset,
                ports: 24,
                ..Default::default()
            }),
        }
    }

    fn id(&self) -> Uuid {
        match self {
            AnyDevice::Camera(d) => d.id,
            AnyDevice::Recorder(d) => d.id,
            AnyDevice::Switch(d) => d.id,
        }
    }

    fn name(&self) -> String {
        match self {
            AnyDevice::Camera(d) => d.name.clone(),
            AnyDevice::Recorder(d) => d.name.clone(),
            AnyDevice::Switch(d) => d.name.clone(),
        }
    }

    fn has_credentials(&self) -> Option<bool> {
        match self {
            AnyDevice::Camera(d) => Some(d.has_credentials),
            AnyDevice::Recorder(d) => Some(d.has_credentials),
            AnyDevice::Switch(_) => None,
        }
    }

    fn to_values(&self) -> Values {
        let mut v = Values::new();
        match self {
            AnyDevice::Camera(c) => {
                common_to_values(&mut v, c.site_id, c.location_id, &c.name, &c.asset);
                put_opt(&mut v, "recorder_id", c.recorder_id);
                put_opt(&mut v, "recorder_channel", c.recorder_channel);
                put_opt(&mut v, "rtsp_main_path", c.rtsp_main_path.as_ref());
                put_opt(&mut v, "rtsp_sub_path", c.rtsp_sub_path.as_ref());
                put(&mut v, "public", if c.public { "true" } else { "" });
                put(&mut v, "tags", c.tags.join(", "));
            }
            AnyDevice::Recorder(r) => {
                common_to_values(&mut v, r.site_id, r.location_id, &r.name, &r.asset);
                put(&mut v, "channels", r.channels);
                put_opt(&mut v, "storage_tb", r.storage_tb);
                put_opt(&mut v, "retention_days", r.retention_days);
            }
            AnyDevice::Switch(s) => {
                common_to_values(&mut v, s.site_id, s.location_id, &s.name, &s.asset);
                put(&mut v, "ports", s.ports);
                put_opt(&mut v, "poe_budget_w", s.poe_budget_w);
                put_opt(&mut v, "uplink", s.uplink.as_ref());
            }
        }
        v
    }

    /// Applies the typed text on top of `self` (which keeps
    /// the id and server-owned fields), then runs the shared rules. Errors
    /// from reading the text (a number that is not one, no site chosen) come
    /// first, then `normalize()`'s.
    fn with_values(&self, v: &Values) -> Result<AnyDevice, Vec<FieldError>> {
        let mut errs = Vec::new();
        let site_id = opt_uuid(v, "site_id").unwrap_or_else(|| {
            errs.push(FieldError::new("site_id", ErrorCode::Required));
            Uuid::nil()
        });
        let location_id = opt_uuid(v, "location_id");
        let name = text(v, "name");
        let asset = asset_from_values(v);
        let normalized = match self {
            AnyDevice::Camera(base) => {
                let tags = text(v, "tags")
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect();
                let c = Camera {
                    site_id,
                    location_id,
                    name,
                    asset,
                    rtsp_main_path: opt_text(v, "rtsp_main_path"),
                    rtsp_sub_path: opt_text(v, "rtsp_sub_path"),
                    recorder_id: opt_uuid(v, "recorder_id"),
                    recorder_channel: opt_number(v, "recorder_channel", &mut errs),
                    public: text(v, "public") == "true",
                    tags,
                    ..base.clone()
                };
                c.normalize().map(AnyDevice::Camera)
            }
            AnyDevice::Recorder(base) => {
                let channels = opt_number(v, "channels", &mut errs);
                if channels.is_none() && !errs.iter().any(|e| e.field == "channels") {
                    errs.push(FieldError::new("channels", ErrorCode::Required));
                }
                let r = Recorder {
                    site_id,
                    location_id,
                    name,
                    asset,
                    // A missing count is already reported; 1 keeps normalize
                    // from adding a second error for the same field.
                    channels: channels.unwrap_or(1),
                    storage_tb: opt_number(v, "storage_tb", &mut errs),
                    retention_days: opt_number(v, "retention_days", &mut errs),
                    ..base.clone()
                };
                r.normalize().map(AnyDevice::Recorder)
            }
            AnyDevice::Switch(base) => {
                let ports = opt_number(v, "ports", &mut errs);
                if ports.is_none() && !errs.iter().any(|e| e.field == "ports") {
                    errs.push(FieldError::new("ports", ErrorCode::Required));
                }
                let s = Switch {
                    site_id,
                    location_id,
                    name,
                    asset,
                    ports: ports.unwrap_or(1),
                    poe_budget_w: opt_number(v, "poe_budget_w", &mut errs),
                    uplink: opt_text(v, "uplink"),
                    ..base.clone()
                };
                s.normalize().map(AnyDevice::Switch)
            }
        };
        match normalized {
            Ok(d) if errs.is_empty() => Ok(d),
            Ok(_) => Err(errs),
            Err(more) => {
                errs.extend(more);
                Err(errs)
            }
        }
    }

    fn with_id(self, id: Uuid) -> AnyDevice {
        match self {
            AnyDevice::Camera(d) => AnyDevice::Camera(Camera { id, ..d }),
            AnyDevice::Recorder(d) => AnyDevice::Recorder(Recorder { id, ..d }),
            AnyDevice::Switch(d) => AnyDevice::Switch(Switch { id, ..d }),
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            AnyDevice::Camera(d) => serde_json::to_value(d),
            AnyDevice::Recorder(d) => serde_json::to_value(d),
            AnyDevice::Switch(d) => serde_json::to_value(d),
        }
        .unwrap_or_default()
    }

    /// Records the device in the outbox (a new one gets its UUIDv7 here)
    /// and returns it as it is now shown.
    async fn save(self, kind: DeviceKind) -> Result<(AnyDevice, bool), ChangeError> {
        let device = if self.id().is_nil() {
            self.with_id(sync::new_id())
        } else {
            self
        };
        let entity = EntityRef {
            kind: EntityKind::from(kind),
            id: device.id(),
        };
        sync::save_entity(entity, &device.to_json()).await?;
        Ok(AnyDevice::load(kind, device.id()).unwrap_or((device, true)))
    }

    /// The device from the replica, and whether it has unsent changes.
    fn load(kind: DeviceKind, id: Uuid) -> Option<(AnyDevice, bool)> {
        let ek = EntityKind::from(kind);
        Some(match kind {
            DeviceKind::Camera => {
                let (d, u) = sync::entity::<Camera>(ek, id)?;
                (AnyDevice::Camera(d), u)
            }
            DeviceKind::Recorder => {
                let (d, u) = sync::entity::<Recorder>(ek, id)?;
                (AnyDevice::Recorder(d), u)
            }
            DeviceKind::Switch => {
                let (d, u) = sync::entity::<Switch>(ek, id)?;
                (AnyDevice::Switch(d), u)
            }
        })
    }
}

fn common_to_values(
    v: &mut Values,
    site_id: Uuid,
    location_id: Option<Uuid>,
    name: &str,
    a: &AssetFields,
) {
    put_opt(v, "site_id", Some(site_id).filter(|s| !s.is_nil()));
    put_opt(v, "location_id", location_id);
    put(v, "name", name);
    put(v, "make", &a.make);
    put(v, "status", a.status.as_str());
    for (field, value) in [
        ("model", &a.model),
        ("serial", &a.serial),
        ("mac", &a.mac),
        ("ip", &a.ip),
        ("firmware", &a.firmware),
        ("install_date", &a.install_date),
        ("warranty_start", &a.warranty_start),
        ("warranty_end", &a.warranty_end),
        ("asset_number", &a.asset_number),
        ("supplier", &a.supplier),
        ("purchase_date", &a.purchase_date),
        ("notes", &a.notes),
    ] {
        put_opt(v, field, value.as_ref());
    }
}

fn asset_from_values(v: &Values) -> AssetFields {
    AssetFields {
        make: text(v, "make"),
        model: opt_text(v, "model"),
        serial: opt_text(v, "serial"),
        mac: opt_text(v, "mac"),
        ip: opt_text(v, "ip"),
        firmware: opt_text(v, "firmware"),
        status: DeviceStatus::parse(&text(v, "status")).unwrap_or_default(),
        install_date: opt_text(v, "install_date"),
        warranty_start: opt_text(v, "warranty_start"),
        warranty_end: opt_text(v, "warranty_end"),
        asset_number: opt_text(v, "asset_number"),
        supplier: opt_text(v, "supplier"),
        purchase_date: opt_text(v, "purchase_date"),
        notes: opt_text(v, "notes"),
    }
}

// `Form::new` takes a plain function per kind: the template device only
// decides which fields are read, so a fresh one is as good as the real one.
fn validate_camera(v: &Values) -> Vec<FieldError> {
    AnyDevice::new(DeviceKind::Camera)
        .with_values(v)
        .err()
        .unwrap_or_default()
}
fn validate_recorder(v: &Values) -> Vec<FieldError> {
    AnyDevice::new(DeviceKind::Recorder)
        .with_values(v)
        .err()
        .unwrap_or_default()
}
fn validate_switch(v: &Values) -> Vec<FieldError> {
    AnyDevice::new(DeviceKind::Switch)
        .with_values(v)
        .err()
        .unwrap_or_default()
}

/// A change that could not be recorded on this device: logged for the
/// curious, shown as one translated sentence.
fn store_failure(e: ChangeError, flag: RwSignal<bool>) {
    leptos::logging::error!("change not recorded: {e:?}");
    flag.set(true);
}

#[component]
pub fn DevicePage(kind: DeviceKind) -> impl IntoView {
    let params = use_params_map();
    // Anything that is not a UUID (normally "new") opens the create form.
    let id = Memo::new(move |_| {
        params
            .with(|p| p.get("id"))
            .and_then(|s| Uuid::parse_str(&s).ok())
    });
    move || match id.get() {
        None => view! { <Editor kind initial=AnyDevice::new(kind)/> }.into_any(),
        Some(id) => view! { <Loader kind id/> }.into_any(),
    }
}

/// Waits for the replica, then opens the editor once; later replica changes
/// (a sync) do not replace a form the user may be typing in.
#[component]
fn Loader(kind: DeviceKind, id: Uuid) -> impl IntoView {
    let found = Memo::new(move |_| track().then(|| AnyDevice::load(kind, id).is_some()));
    move || {
        match found.get() {
        None => view! { <p>{tr(K::Loading)}</p> }.into_any(),
        Some(true) => match AnyDevice::load(kind, id) {
            Some((d, _)) => view! { <Editor kind initial=d/> }.into_any(),
            None => ().into_any(),
        },
        Some(false) => view! { <p class="alert error" data-test="error" data-code="not_found">{tr(K::RecordMissing)}</p> }.into_any(),
    }
    }
}

#[component]
fn Editor(kind: DeviceKind, initial: AnyDevice) -> impl IntoView {
    let lang = use_lang();
    let navigate = use_navigate();
    let validate = match kind {
        DeviceKind::Camera => validate_camera,
        DeviceKind::Recorder => validate_recorder,
        DeviceKind::Switch => validate_switch,
    };
    let form = Form::new(initial.to_values(), validate);
    let is_new = initial.id().is_nil();
    let id = initial.id();
    let base_device = StoredValue::new(initial.clone());
    let title = RwSignal::new(initial.name());
    let has_credentials = RwSignal::new(initial.has_credentials());
    let error = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(None::<String>);
    let store_error = RwSignal::new(false);
    let busy = RwSignal::new(false);
    // Read-only roles see the same page with every input disabled and no
    // save button.
    let can_write = can(Permission::InventoryWrite);
    let can_delete = can(Permission::InventoryDelete);
    let base = kind_path(kind);

    let sites = Signal::derive(move || {
        track();
        sync::site_options()
    });
    let site_id = Memo::new(move |_| form.get("site_id"));
    let site_uuid = move || Uuid::parse_str(&site_id.get()).ok();
    // Locations of the chosen site, labelled "building / location".
    let location_options = Signal::derive(move || {
        track();
        site_uuid().map(sync::location_options).unwrap_or_default()
    });
    // Recorders of the chosen site, for a camera's recorder and channel.
    let recorder_options = Signal::derive(move || {
        track();
        match (kind, site_uuid()) {
            (DeviceKind::Camera, Some(site)) => sync::recorder_options(site),
            _ => Vec::new(),
        }
    });
    // Whether a password is stored is not part of the replica: ask the
    // server when it can be reached.
    if !is_new && has_credentials.get_untracked().is_some() {
        spawn_local(async move {
            let flag = match kind {
                DeviceKind::Camera => api::cameras::get(id).await.map(|d| d.has_credentials),
                DeviceKind::Recorder => api::recorders::get(id).await.map(|d| d.has_credentials),
                DeviceKind::Switch => return,
            };
            if let Ok(flag) = flag {
                has_credentials.set(Some(flag));
            }
        });
    }
    let status_options = Signal::derive(move || {
        DeviceStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), s.label(lang.get()).to_owned()))
            .collect::<Vec<_>>()
    });

    let unsent = Memo::new(move |_| {
        track();
        !is_new
            && sync::is_unsent(&RecordKey::Entity(EntityRef {
                kind: EntityKind::from(kind),
                id,
            }))
    });

    let navigate_after_save = navigate.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(None);
        error.set(None);
        store_error.set(false);
        if !form.check() || busy.get_untracked() {
            return;
        }
        let Ok(device) = base_device.with_value(|b| b.with_values(&form.values.get_untracked()))
        else {
            return;
        };
        busy.set(true);
        let navigate = navigate_after_save.clone();
        spawn_local(async move {
            match device.save(kind).await {
                Ok((d, unsent)) => {
                    if is_new {
                        navigate(
                            &format!("/{base}/{}", d.id()),
                            NavigateOptions {
                                replace: true,
                                ..Default::default()
                            },
                        );
                    } else {
                        form.reset(d.to_values());
                        title.set(d.name());
                        base_device.set_value(d);
                        let msg = if unsent { K::SavedLocally } else { K::Saved };
                        saved.set(Some(t(lang.get_untracked(), msg).to_owned()));
                    }
                }
                Err(e) => store_failure(e, store_error),
            }
            busy.set(false);
        });
    };

    let on_delete = move |_| {
        let confirmed = window()
            .confirm_with_message(t(lang.get_untracked(), K::ConfirmDelete))
            .unwrap_or(false);
        if !confirmed {
            return;
        }
        let navigate = navigate.clone();
        spawn_local(async move {
            let entity = EntityRef {
                kind: EntityKind::from(kind),
                id,
            };
            match sync::delete_entity(entity).await {
                Ok(_) => navigate(&format!("/{base}"), NavigateOptions::default()),
                Err(e) => store_failure(e, store_error),
            }
        });
    };

    let heading = move || {
        let kind_label = t(
            lang.get(),
            match kind {
                DeviceKind::Camera => K::Camera,
                DeviceKind::Recorder => K::Recorder,
                DeviceKind::Switch => K::Switch,
            },
        );
        if is_new {
            t(
                lang.get(),
                match kind {
                    DeviceKind::Camera => K::NewCamera,
                    DeviceKind::Recorder => K::NewRecorder,
                    DeviceKind::Switch => K::NewSwitch,
                },
            )
            .to_owned()
        } else {
            format!("{kind_label}: {}", title.get())
        }
    };

    view! {
        <div class="page-head">
            <h1 data-test="device-title">{heading}</h1>
            <A href=format!("/{base}") attr:class="button">{tr(K::Back)}</A>
            {(!is_new).then(|| view! { <A href=format!("/{base}/{id}/history") attr:class="button" attr:data-test="history-link">{tr(K::History)}</A> })}
        </div>
        {move || unsent.get().then(|| view! { <p class="unsent-note"><span class="unsent" data-test="unsent">{tr(K::NotSent)}</span></p> })}
        <form class="card device-form" id="device-form" data-test="device-form" data-kind=kind.as_str() data-dirty=move || form.is_dirty().to_string() on:submit=on_submit novalidate>
            <ErrorBanner error=error/>
            {move || store_error.get().then(|| view! { <div class="alert error" role="alert" data-test="error" data-code="store">{tr(K::StoreError)}</div> })}
            <OkBanner message=saved/>
            {move || (form.submitted.get() && form.has_local_errors()).then(|| view! { <div class="alert error" data-test="fix-errors">{tr(K::FixErrors)}</div> })}
            <OrphanErrors form/>
            <fieldset class="grid" disabled=move || !can_write()>
                <TextField form field="name" required=true/>
                <SelectField form field="site_id" options=sites required=true/>
                <SelectField form field="location_id" options=location_options/>
                <SelectField form field="status" options=status_options required=true/>
                <TextField form field="make" required=true/>
                <TextField form field="model"/>
                <TextField form field="serial"/>
                <TextField form field="mac" placeholder="00:11:22:33:44:55"/>
                <TextField form field="ip" placeholder="10.0.0.10"/>
                <TextField form field="firmware"/>
            </fieldset>
            {match kind {
                DeviceKind::Camera => view! {
                    <fieldset class="grid" disabled=move || !can_write()>
                        <SelectField form field="recorder_id" options=recorder_options/>
                        <TextField form field="recorder_channel"/>
                        <TextField form field="rtsp_main_path" placeholder="/Streaming/Channels/101"/>
                        <TextField form field="rtsp_sub_path" placeholder="/Streaming/Channels/102"/>
                        <TextField form field="tags"/>
                        <CheckField form field="public"/>
                    </fieldset>
                }
                    .into_any(),
                DeviceKind::Recorder => view! {
                    <fieldset class="grid" disabled=move || !can_write()>
                        <TextField form field="channels" required=true/>
                        <TextField form field="storage_tb"/>
                        <TextField form field="retention_days"/>
                    </fieldset>
                }
                    .into_any(),
                DeviceKind::Switch => view! {
                    <fieldset class="grid" disabled=move || !can_write()>
                        <TextField form field="ports" required=true/>
                        <TextField form field="poe_budget_w"/>
                        <TextField form field="uplink"/>
                    </fieldset>
                }
                    .into_any(),
            }}
            <fieldset class="grid" disabled=move || !can_write()>
                <TextField form field="install_date" input_type="date"/>
                <TextField form field="warranty_start" input_type="date"/>
                <TextField form field="warranty_end" input_type="date"/>
                <TextField form field="purchase_date" input_type="date"/>
                <TextField form field="asset_number"/>
                <TextField form field="supplier"/>
                <TextArea form field="notes"/>
            </fieldset>
            <div class="actions">
                <Show when=can_write>
                    <button type="submit" class="primary" id="device-save" data-test="device-save" disabled=busy>{tr(K::Save)}</button>
                </Show>
                <Show when=move || !is_new && can_delete()>
                    <button type="button" class="danger" data-test="device-delete" on:click=on_delete.clone()>{tr(K::Delete)}</button>
                </Show>
            </div>
        </form>
        // Decided once: re-rendering the panel when the flag changes would
        // wipe its own banners.
        {(!is_new && initial.has_credentials().is_some()).then(|| view! { <CredentialsPanel kind id has_credentials/> })}
        {(!is_new).then(|| view! { <RunsPanel target_kind=TargetKind::from(kind) target_id=id/> })}
        {(!is_new).then(|| view! { <FaultsPanel kind device_id=id/> })}
    }
}

/// Stores a device password (technicians may) and reveals it (only admins
/// and supervisors may; the server audits every reveal).
#[component]
fn CredentialsPanel(
    kind: DeviceKind,
    id: Uuid,
    has_credentials: RwSignal<Option<bool>>,
) -> impl IntoView {
    let lang = use_lang();
    let can_write = can(Permission::CredentialsWrite);
    let can_reveal = can(Permission::CredentialsReveal);
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let revealed = RwSignal::new(None::<DeviceCredentials>);
    let error = RwSignal::new(None::<ApiFailure>);
    let ok = RwSignal::new(None::<String>);
    let on_save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        ok.set(None);
        let creds = DeviceCredentials {
            username: username.get_untracked(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            let r = match kind {
                DeviceKind::Recorder => api::recorders::set_credentials(id, &creds).await,
                _ => api::cameras::set_credentials(id, &creds).await,
            };
            match r {
                Ok(()) => {
                    password.set(String::new());
                    revealed.set(None);
                    has_credentials.set(Some(true));
                    ok.set(Some(
                        t(lang.get_untracked(), K::CredentialsSaved).to_owned(),
                    ));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let on_reveal = move |_| {
        error.set(None);
        spawn_local(async move {
            let r = match kind {
                DeviceKind::Recorder => api::recorders::reveal_credentials(id).await,
                _ => api::cameras::reveal_credentials(id).await,
            };
            match r {
                Ok(c) => revealed.set(Some(c)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card credentials" data-test="credentials">
            <h2>{tr(K::Credentials)}</h2>
            <p data-test="has-credentials">{move || tr(if has_credentials.get().unwrap_or(false) { K::HasCredentials } else { K::NoCredentials })()}</p>
            <ErrorBanner error=error/>
            <OkBanner message=ok/>
            <Show when=can_reveal>
                <button type="button" id="reveal" data-test="reveal" on:click=on_reveal>{tr(K::Reveal)}</button>
                {move || {
                    revealed
                        .get()
                        .map(|c| {
                            view! {
                                <dl class="revealed" data-test="revealed">
                                    <dt>{move || crate::i18n::field_label(lang.get(), "username")}</dt>
                                    <dd class="mono">{c.username}</dd>
                                    <dt>{move || crate::i18n::field_label(lang.get(), "password")}</dt>
                                    <dd class="mono" data-test="revealed-password">{c.password}</dd>
                                </dl>
                            }
                        })
                }}
            </Show>
            <Show when=can_write>
                <form class="grid" id="credentials-form" data-test="credentials-form" on:submit=on_save>
                    <div class="field">
                        <label for="cred-username">{move || crate::i18n::field_label(lang.get(), "username")}</label>
                        <input id="cred-username" autocomplete="off" prop:value=username on:input=move |ev| username.set(event_target_value(&ev))/>
                    </div>
                    <div class="field">
                        <label for="cred-password">{move || crate::i18n::field_label(lang.get(), "password")}</label>
                        <input id="cred-password" type="password" autocomplete="new-password" prop:value=password on:input=move |ev| password.set(event_target_value(&ev))/>
                    </div>
                    <div class="actions">
                        <button type="submit" class="primary" data-test="credentials-save">{tr(K::SetCredentials)}</button>
                    </div>
                </form>
            </Show>
        </section>
    }
}
