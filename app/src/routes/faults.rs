//! Faults (arıza kaydı, DOMAIN.md §9): the panel on a device's page with
//! its active faults and "open fault", `/faults` with its filters, and
//! `/faults/:id` with the details, the timeline and the workflow.
//!
//! Opening a fault and adding notes work offline: they are records in the
//! replica and the outbox (`crate::sync::faults`), and the server numbers
//! the fault when it arrives. The workflow — status changes, assignment,
//! vendor details, closing with a fault form — is office work the server
//! judges at once, so those buttons need a connection and say so when
//! there is none. Buttons appear only for roles that may use them; the
//! server checks again.

use gozcu_shared::api_fieldwork::{
    Fault, FaultAssign, FaultAssignee, FaultEvent, FaultEventKind, FaultTransition, FaultUpdate,
};
use gozcu_shared::checklists::{Purpose, RunStatus, TargetKind};
use gozcu_shared::faults::{DeviceRef, FaultStatus, Severity};
use gozcu_shared::inventory::DeviceKind;
use gozcu_shared::sync::{EntityKind, EntityRef};
use gozcu_shared::{ErrorCode, FieldError, Lang, Permission};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::NavigateOptions;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::alert::{ErrorBanner, OkBanner};
use crate::components::form::{
    opt_text, opt_uuid, put, put_opt, text, Form, OrphanErrors, SelectField, TextArea, TextField,
    Values,
};
use crate::i18n::{field_label, format_ms, t, tr, use_lang, K};
use crate::session::{can, kind_path};
use crate::sync::faults::{self as local, Opening, SaveError, ShownEvent, ShownFault};
use crate::sync::{self, track, use_sync, ChangeError};

// ---- small pieces ------------------------------------------------------------

fn severity_options(lang: Lang) -> Vec<(String, String)> {
    Severity::ALL
        .iter()
        .rev()
        .map(|s| (s.as_str().to_owned(), s.label(lang).to_owned()))
        .collect()
}

fn status_badge(status: FaultStatus) -> impl IntoView {
    let lang = use_lang();
    view! {
        <span class=format!("fault-status {}", status.as_str()) data-test="fault-status" data-status=status.as_str()>
            {move || status.label(lang.get())}
        </span>
    }
}

fn severity_badge(severity: Severity) -> impl IntoView {
    let lang = use_lang();
    view! {
        <span class=format!("severity {}", severity.as_str()) data-test="fault-severity" data-severity=severity.as_str()>
            {move || severity.label(lang.get())}
        </span>
    }
}

/// "#12", or that the number comes with the sync.
fn number_text(fault: &Fault, lang: Lang) -> String {
    if fault.number > 0 {
        format!("#{}", fault.number)
    } else {
        format!("({})", t(lang, K::NotNumbered))
    }
}

/// A device's name from the replica (fresh after a rename), else the one
/// the fault was read with.
fn device_name(fault: &Fault) -> Option<String> {
    let d = fault.device?;
    sync::entity::<Value>(EntityKind::from(d.kind), d.id)
        .and_then(|(v, _)| v.get("name").and_then(Value::as_str).map(str::to_owned))
        .or_else(|| fault.device_name.clone())
        .or_else(|| Some(d.id.to_string()))
}

fn device_link(fault: &Fault) -> AnyView {
    match (fault.device, device_name(fault)) {
        (Some(d), Some(name)) => {
            let href = format!("/{}/{}", kind_path(d.kind), d.id);
            view! { <A href=href attr:data-test="fault-device">{name}</A> }.into_any()
        }
        _ => view! { <span data-test="fault-device">{tr(K::WholeSite)}</span> }.into_any(),
    }
}

fn site_name(fault: &Fault) -> String {
    if !fault.site_name.is_empty() {
        return fault.site_name.clone();
    }
    sync::entity::<Value>(EntityKind::Site, fault.site_id)
        .and_then(|(v, _)| v.get("name").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

/// A duration as "2 gün 3 sa 5 dk" / "2 d 3 h 5 min".
fn format_duration(ms: i64, lang: Lang) -> String {
    let minutes = ms.max(0) / 60_000;
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} {}", t(lang, K::DurationDays)));
    }
    if days > 0 || hours > 0 {
        parts.push(format!("{hours} {}", t(lang, K::DurationHours)));
    }
    parts.push(format!("{mins} {}", t(lang, K::DurationMinutes)));
    parts.join(" ")
}

fn change_error(e: &ChangeError, lang: Lang) -> String {
    match e {
        ChangeError::NotReady => t(lang, K::Loading).to_owned(),
        ChangeError::Store(s) => format!("{}: {s}", t(lang, K::StoreError)),
    }
}

fn fields_text(fields: &[FieldError], lang: Lang) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", field_label(lang, &f.field), f.code.message(lang)))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---- the panel on a device's page -------------------------------------------

fn opening_of(v: &Values) -> Opening {
    let device = match (
        v.get("device_kind").and_then(|k| DeviceKind::parse(k)),
        opt_uuid(v, "device_id"),
    ) {
        (Some(kind), Some(id)) => Some(DeviceRef { kind, id }),
        _ => None,
    };
    Opening {
        site_id: opt_uuid(v, "site_id").unwrap_or_default(),
        device,
        title: text(v, "title"),
        description: opt_text(v, "description"),
        severity: Severity::parse(&text(v, "severity")).unwrap_or_default(),
    }
}

fn validate_opening(v: &Values) -> Vec<FieldError> {
    local::check_opening(&opening_of(v))
}

/// The active faults of one device, and opening a new one (offline too).
#[component]
pub fn FaultsPanel(kind: DeviceKind, device_id: Uuid) -> impl IntoView {
    let lang = use_lang();
    let can_write = can(Permission::FaultsWrite);
    let opening = RwSignal::new(false);
    let faults = Memo::new(move |_| {
        track();
        local::faults(|f| f.status.is_active() && f.device.is_some_and(|d| d.id == device_id))
    });
    view! {
        <section class="card faults" data-test="faults-panel">
            <h2>{tr(K::NavFaults)}</h2>
            {move || {
                let list = faults.get();
                if list.is_empty() {
                    return view! { <p class="empty" data-test="no-faults">{tr(K::NoActiveFaults)}</p> }.into_any();
                }
                view! {
                    <ul class="fault-list">
                        {list.into_iter().map(|ShownFault { fault, unsent }| {
                            let label = format!("{} {}", number_text(&fault, lang.get()), fault.title);
                            view! {
                                <li data-test="device-fault" data-id=fault.id.to_string() data-status=fault.status.as_str()>
                                    <A href=format!("/faults/{}", fault.id)>{label}</A>
                                    " " {severity_badge(fault.severity)} " " {status_badge(fault.status)}
                                    " · " {format_ms(fault.opened_at, lang.get())}
                                    {unsent.then(|| view! { <span class="unsent" data-test="unsent">{tr(K::NotSent)}</span> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <Show when=can_write>
                <Show when=move || opening.get() fallback=move || view! {
                    <button type="button" class="primary" data-test="open-fault" on:click=move |_| opening.set(true)>{tr(K::OpenFault)}</button>
                }>
                    <OpenFaultForm kind device_id on_cancel=Callback::new(move |_| opening.set(false))/>
                </Show>
            </Show>
        </section>
    }
}

#[component]
fn OpenFaultForm(kind: DeviceKind, device_id: Uuid, on_cancel: Callback<()>) -> impl IntoView {
    let lang = use_lang();
    let navigate = use_navigate();
    let mut initial = Values::new();
    let site = sync::entity::<Value>(EntityKind::from(kind), device_id)
        .and_then(|(v, _)| v.get("site_id").and_then(Value::as_str).map(str::to_owned));
    put_opt(&mut initial, "site_id", site);
    put(&mut initial, "device_kind", kind.as_str());
    put(&mut initial, "device_id", device_id);
    put(&mut initial, "severity", Severity::default().as_str());
    let form = Form::new(initial, validate_opening);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let severities = Signal::derive(move || severity_options(lang.get()));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        if !form.check() || busy.get_untracked() {
            return;
        }
        let opening = opening_of(&form.values.get_untracked());
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            match local::open(&opening).await {
                Ok(id) => navigate(&format!("/faults/{id}"), NavigateOptions::default()),
                Err(SaveError::Fields(fields)) => form.server.set(fields),
                Err(SaveError::Change(e)) => {
                    error.set(Some(change_error(&e, lang.get_untracked())))
                }
            }
            busy.set(false);
        });
    };
    view! {
        <form class="open-fault" id="fault-form" data-test="fault-form" on:submit=on_submit novalidate>
            <h3>{tr(K::OpenFault)}</h3>
            <OrphanErrors form/>
            <TextField form field="title" required=true/>
            <TextArea form field="description"/>
            <SelectField form field="severity" options=severities required=true/>
            {move || error.get().map(|e| view! { <p class="alert error" role="alert" data-test="error">{e}</p> })}
            <div class="actions">
                <button type="submit" class="primary" data-test="fault-save" disabled=busy>{tr(K::Save)}</button>
                <button type="button" on:click=move |_| on_cancel.run(())>{tr(K::Cancel)}</button>
            </div>
        </form>
    }
}

// ---- /faults ------------------------------------------------------------------

/// The status filter: everything, the active ones, or one status.
fn status_filter(value: &str, status: FaultStatus) -> bool {
    match value {
        "" => true,
        "active" => status.is_active(),
        other => FaultStatus::parse(other) == Some(status),
    }
}

#[component]
pub fn FaultsPage() -> impl IntoView {
    let lang = use_lang();
    let sync_signals = use_sync();
    let status = RwSignal::new(String::new());
    let severity = RwSignal::new(None::<Severity>);
    let site = RwSignal::new(None::<Uuid>);
    let ready = Memo::new(move |_| track());
    let rows = Memo::new(move |_| {
        track();
        let (status, severity, site) = (status.get(), severity.get(), site.get());
        local::faults(|f| {
            status_filter(&status, f.status)
                && severity.is_none_or(|s| s == f.severity)
                && site.is_none_or(|s| s == f.site_id)
        })
    });
    let sites = Memo::new(move |_| {
        track();
        sync::site_options()
    });
    view! {
        <div class="page-head">
            <h1>{tr(K::FaultsTitle)}</h1>
        </div>
        <div class="filters">
            <select id="filter-status" data-test="filter-status" aria-label=move || field_label(lang.get(), "status")
                on:change=move |ev| status.set(event_target_value(&ev))>
                <option value="">{tr(K::AllStatuses)}</option>
                <option value="active">{tr(K::ActiveFaults)}</option>
                {FaultStatus::ALL.into_iter().map(|s| view! {
                    <option value=s.as_str()>{move || s.label(lang.get())}</option>
                }).collect_view()}
            </select>
            <select id="filter-severity" data-test="filter-severity" aria-label=move || field_label(lang.get(), "severity")
                on:change=move |ev| severity.set(Severity::parse(&event_target_value(&ev)))>
                <option value="">{tr(K::AllSeverities)}</option>
                {Severity::ALL.into_iter().rev().map(|s| view! {
                    <option value=s.as_str()>{move || s.label(lang.get())}</option>
                }).collect_view()}
            </select>
            <select id="filter-site" data-test="filter-site" aria-label=move || field_label(lang.get(), "site")
                on:change=move |ev| site.set(Uuid::parse_str(&event_target_value(&ev)).ok())>
                <option value="">{tr(K::AllSites)}</option>
                {move || sites.get().into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
            </select>
        </div>
        {move || (!sync_signals.status.with(|s| s.online) && ready.get()).then(|| view! { <p class="hint offline-note" data-test="offline-data">{tr(K::OfflineData)}</p> })}
        <div class="table-wrap">
            <table class="list" data-test="fault-table">
                <thead>
                    <tr>
                        <th>{tr(K::Fault)}</th>
                        <th>{move || field_label(lang.get(), "title")}</th>
                        <th>{move || field_label(lang.get(), "site")}</th>
                        <th>{move || field_label(lang.get(), "device")}</th>
                        <th>{move || field_label(lang.get(), "severity")}</th>
                        <th>{move || field_label(lang.get(), "status")}</th>
                        <th>{move || field_label(lang.get(), "opened_at")}</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        if !ready.get() {
                            return view! { <tr><td colspan="7">{tr(K::Loading)}</td></tr> }.into_any();
                        }
                        let list = rows.get();
                        if list.is_empty() {
                            return view! { <tr><td colspan="7" class="empty" data-test="no-results">{tr(K::NoFaults)}</td></tr> }.into_any();
                        }
                        let lang = lang.get();
                        list.into_iter().map(|ShownFault { fault, unsent }| {
                            let (number, site, device) = (number_text(&fault, lang), site_name(&fault), device_link(&fault));
                            view! {
                                <tr data-test="fault-row" data-id=fault.id.to_string() data-number=fault.number.to_string()
                                    data-status=fault.status.as_str() class:unsent=unsent>
                                    <td class="num">{number}</td>
                                    <td>
                                        <A href=format!("/faults/{}", fault.id)>{fault.title}</A>
                                        {unsent.then(|| view! { <span class="unsent" data-test="unsent">{t(lang, K::NotSent)}</span> })}
                                    </td>
                                    <td>{site}</td>
                                    <td>{device}</td>
                                    <td>{severity_badge(fault.severity)}</td>
                                    <td>{status_badge(fault.status)}</td>
                                    <td>{format_ms(fault.opened_at, lang)}</td>
                                </tr>
                            }
                        }).collect_view().into_any()
                    }}
                </tbody>
            </table>
        </div>
    }
}

// ---- /faults/:id ----------------------------------------------------------------

#[component]
pub fn FaultPage() -> impl IntoView {
    let params = use_params_map();
    let id =
        Memo::new(move |_| params.with(|p| p.get("id").and_then(|s| Uuid::parse_str(&s).ok())));
    move || match id.get() {
        Some(id) => view! { <FaultView id/> }.into_any(),
        None => view! { <p class="empty">{tr(K::NotFoundPage)}</p> }.into_any(),
    }
}

#[component]
fn FaultView(id: Uuid) -> impl IntoView {
    let lang = use_lang();
    let ready = Memo::new(move |_| track());
    let shown = Memo::new(move |_| {
        track();
        local::fault(id)
    });
    let events = Memo::new(move |_| {
        track();
        local::timeline(id)
    });
    let fault = move || shown.get().map(|s| s.fault);
    view! {
        {move || match (ready.get(), shown.with(Option::is_some)) {
            (false, _) => view! { <p>{tr(K::Loading)}</p> }.into_any(),
            (true, false) => view! {
                <p class="alert error" data-test="error" data-code="not_found">{move || t(lang.get(), K::FaultNotFound)}</p>
            }.into_any(),
            (true, true) => ().into_any(),
        }}
        <Show when=move || shown.with(Option::is_some)>
            <div class="page-head">
                <h1 data-test="fault-title">
                    {move || fault().map(|f| format!("{} {} {}", t(lang.get(), K::Fault), number_text(&f, lang.get()), f.title))}
                </h1>
                {move || fault().map(|f| status_badge(f.status))}
                {move || shown.get().filter(|s| s.unsent).map(|_| view! { <span class="unsent" data-test="unsent">{tr(K::NotSent)}</span> })}
                <A href="/faults" attr:class="button">{tr(K::Back)}</A>
            </div>
            {move || fault().map(|f| view! { <FaultDetails fault=f events=events.get()/> })}
            <section class="card timeline" data-test="timeline">
                <h2>{tr(K::Timeline)}</h2>
                <ol class="timeline-list">
                    {move || events.get().into_iter().map(|e| view! { <TimelineEntry e/> }).collect_view()}
                </ol>
                <NoteForm id closed=Signal::derive(move || fault().is_some_and(|f| f.status == FaultStatus::Closed))/>
            </section>
            <FaultActions shown/>
        </Show>
    }
}

#[component]
fn FaultDetails(fault: Fault, events: Vec<ShownEvent>) -> impl IntoView {
    let lang = use_lang();
    let opened_by = events
        .iter()
        .find(|e| e.event.kind == FaultEventKind::Opened)
        .and_then(|e| e.event.by_name.clone());
    let row = |label: AnyView, value: AnyView, test: &'static str| {
        view! { <div class="detail" data-test=test><dt>{label}</dt><dd>{value}</dd></div> }
    };
    let label =
        move |field: &'static str| view! { {move || field_label(lang.get(), field)} }.into_any();
    let plain = |s: Option<String>| s.unwrap_or_else(|| "—".into()).into_any();
    let repair = fault.time_to_repair_ms;
    let resolved = fault.resolved_at;
    let closed = fault.closed_at;
    view! {
        <dl class="card fault-details">
            {row(label("site"), site_name(&fault).into_any(), "fault-site")}
            {row(label("device"), device_link(&fault), "fault-device-row")}
            {row(label("severity"), severity_badge(fault.severity).into_any(), "fault-severity-row")}
            {row(label("opened_at"), format!("{}{}", format_ms(fault.opened_at, lang.get_untracked()),
                opened_by.map(|n| format!(" · {}: {n}", t(lang.get_untracked(), K::OpenedBy))).unwrap_or_default()).into_any(), "fault-opened")}
            {row(label("description"), plain(fault.description.clone()), "fault-description")}
            {row(label("assignee_id"), plain(fault.assignee_name.clone()), "fault-assignee")}
            {row(label("vendor"), plain(fault.vendor.clone()), "fault-vendor")}
            {row(label("vendor_ticket"), plain(fault.vendor_ticket.clone()), "fault-ticket")}
            {fault.fault_form_run_id.map(|run| row(label("fault_form_run_id"),
                view! { <A href=format!("/runs/{run}")>{tr(K::FaultForm)}</A> }.into_any(), "fault-form-link"))}
            {resolved.map(|at| row(label("resolved_at"), format_ms(at, lang.get_untracked()).into_any(), "fault-resolved"))}
            {repair.map(|ms| row(view! { {tr(K::TimeToRepair)} }.into_any(),
                view! { <span data-ms=ms.to_string()>{move || format_duration(ms, lang.get())}</span> }.into_any(), "fault-repair"))}
            {closed.map(|at| row(label("closed_at"), format_ms(at, lang.get_untracked()).into_any(), "fault-closed"))}
        </dl>
    }
}

fn event_label(kind: FaultEventKind) -> K {
    match kind {
        FaultEventKind::Opened => K::EventOpened,
        FaultEventKind::Note => K::EventNote,
        FaultEventKind::Transition => K::EventTransition,
        FaultEventKind::Reassigned => K::EventReassigned,
        FaultEventKind::Edited => K::EventEdited,
    }
}

#[component]
fn TimelineEntry(e: ShownEvent) -> impl IntoView {
    let lang = use_lang();
    let ShownEvent { event, unsent } = e;
    let FaultEvent {
        kind,
        from_status,
        to_status,
        note,
        assignee_name,
        vendor,
        vendor_ticket,
        fault_form_run_id,
        by_name,
        at,
        ..
    } = event;
    let heading = move || {
        let lang = lang.get();
        let mut s = t(lang, event_label(kind)).to_owned();
        if kind == FaultEventKind::Transition {
            if let (Some(from), Some(to)) = (from_status, to_status) {
                s = format!("{s}: {} → {}", from.label(lang), to.label(lang));
            }
        }
        s
    };
    let by = by_name.clone();
    let extra = move || {
        let lang = lang.get();
        let mut parts = Vec::new();
        if let Some(a) = &assignee_name {
            parts.push(format!("{}: {a}", field_label(lang, "assignee_id")));
        }
        if let Some(v) = &vendor {
            parts.push(format!("{}: {v}", field_label(lang, "vendor")));
        }
        if let Some(v) = &vendor_ticket {
            parts.push(format!("{}: {v}", field_label(lang, "vendor_ticket")));
        }
        parts.join(" · ")
    };
    view! {
        <li class="timeline-entry" data-test="timeline-entry" data-kind=kind.as_str() data-unsent=unsent.to_string()>
            <div class="meta">
                {move || format_ms(at, lang.get())} " · "
                {move || by.clone().unwrap_or_else(|| t(lang.get(), K::You).to_owned())}
                {unsent.then(|| view! { " " <span class="unsent" data-test="unsent">{tr(K::NotSent)}</span> })}
            </div>
            <strong>{heading}</strong>
            {move || { let x = extra(); (!x.is_empty()).then(|| view! { <div class="extra">{x}</div> }) }}
            {note.map(|n| view! { <p class="note" data-test="timeline-note">{n}</p> })}
            {fault_form_run_id.map(|run| view! { <A href=format!("/runs/{run}")>{tr(K::FaultForm)}</A> })}
        </li>
    }
}

/// Adding a note: offline too, one record per note.
#[component]
fn NoteForm(id: Uuid, closed: Signal<bool>) -> impl IntoView {
    let lang = use_lang();
    let can_write = can(Permission::FaultsWrite);
    let note = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let text = note.get_untracked();
        spawn_local(async move {
            let lang = lang.get_untracked();
            match local::add_note(id, &text).await {
                Ok(()) => note.set(String::new()),
                Err(SaveError::Fields(fields)) => error.set(Some(fields_text(&fields, lang))),
                Err(SaveError::Change(e)) => error.set(Some(change_error(&e, lang))),
            }
            busy.set(false);
        });
    };
    view! {
        <Show when=move || can_write() && !closed.get()>
            <form class="note-form" data-test="note-form" on:submit=add novalidate>
                <label>{tr(K::AddNote)}
                    <textarea data-test="note-text" rows="3" prop:value=move || note.get()
                        on:input=move |ev| note.set(event_target_value(&ev))></textarea>
                </label>
                {move || error.get().map(|e| view! { <p class="field-error" data-test="note-error">{e}</p> })}
                <button type="submit" data-test="add-note" disabled=busy>{tr(K::AddNote)}</button>
            </form>
        </Show>
    }
}

// ---- the workflow (online) -------------------------------------------------------

/// What the user is about to do.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    Transition(FaultStatus),
    Reassign,
    Edit,
}

fn action_label(from: FaultStatus, action: Action) -> K {
    match action {
        Action::Transition(FaultStatus::Assigned) if from == FaultStatus::Resolved => K::Reopen,
        Action::Transition(FaultStatus::Assigned) => K::ToAssigned,
        Action::Transition(FaultStatus::WaitingVendor) => K::ToWaitingVendor,
        Action::Transition(FaultStatus::Resolved) => K::ToResolved,
        Action::Transition(_) => K::ToClosed,
        Action::Reassign => K::Reassign,
        Action::Edit => K::EditFault,
    }
}

fn action_test(action: Action) -> String {
    match action {
        Action::Transition(to) => format!("to-{}", to.as_str()),
        Action::Reassign => "reassign".into(),
        Action::Edit => "edit-fault".into(),
    }
}

fn validate_transition(v: &Values) -> Vec<FieldError> {
    transition_of(v, FaultStatus::Open)
        .normalize()
        .err()
        .unwrap_or_default()
}

fn transition_of(v: &Values, to: FaultStatus) -> FaultTransition {
    FaultTransition {
        to,
        assignee_id: opt_uuid(v, "assignee_id"),
        vendor: opt_text(v, "vendor"),
        vendor_ticket: opt_text(v, "vendor_ticket"),
        note: opt_text(v, "note"),
        fault_form_run_id: None,
    }
}

fn update_of(v: &Values) -> FaultUpdate {
    FaultUpdate {
        title: text(v, "title"),
        description: opt_text(v, "description"),
        severity: Severity::parse(&text(v, "severity")).unwrap_or_default(),
        vendor: opt_text(v, "vendor"),
        vendor_ticket: opt_text(v, "vendor_ticket"),
    }
}

fn validate_update(v: &Values) -> Vec<FieldError> {
    update_of(v).normalize().err().unwrap_or_default()
}

/// Status changes, reassignment and edits: buttons for the moves the
/// workflow allows from here and the user's role may make, usable only
/// with a connection and once the server holds the fault.
#[component]
fn FaultActions(shown: Memo<Option<ShownFault>>) -> impl IntoView {
    let lang = use_lang();
    let sync_signals = use_sync();
    let can_manage = can(Permission::FaultsManage);
    let can_write = can(Permission::FaultsWrite);
    let chosen = RwSignal::new(None::<Action>);
    let done = RwSignal::new(None::<String>);
    let online = move || sync_signals.status.with(|s| s.online);
    // The state that decides the buttons; the forms below are built again
    // only when it changes, not on every pull.
    let state = Memo::new(move |_| {
        shown
            .get()
            .map(|s| (s.fault.status, s.unsent || s.fault.number == 0))
    });
    let actions = move || {
        let Some((status, _)) = state.get() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if can_manage() {
            out.extend(status.next().iter().map(|to| Action::Transition(*to)));
            if matches!(status, FaultStatus::Assigned | FaultStatus::WaitingVendor) {
                out.push(Action::Reassign);
            }
        }
        if can_write() && status != FaultStatus::Closed {
            out.push(Action::Edit);
        }
        out
    };
    let usable = move || online() && state.get().is_some_and(|(_, unsent)| !unsent);
    view! {
        <Show when=move || !actions().is_empty()>
            <section class="card fault-actions" data-test="fault-actions">
                <h2>{tr(K::FaultActions)}</h2>
                {move || (!online()).then(|| view! { <p class="alert warn" data-test="actions-offline">{tr(K::ActionsOffline)}</p> })}
                {move || (online() && !usable()).then(|| view! { <p class="alert warn" data-test="actions-unsent">{tr(K::ActionsUnsent)}</p> })}
                <OkBanner message=done/>
                <div class="actions">
                    {move || {
                        let from = state.get().map(|(s, _)| s).unwrap_or_default();
                        actions().into_iter().map(|a| view! {
                            <button type="button" data-test=action_test(a) disabled=move || !usable()
                                class:selected=move || chosen.get() == Some(a)
                                on:click=move |_| { done.set(None); chosen.set(Some(a)); }>
                                {move || t(lang.get(), action_label(from, a))}
                            </button>
                        }).collect_view()
                    }}
                </div>
                {move || {
                    let (Some(action), Some(s)) = (chosen.get(), shown.get_untracked()) else {
                        return ().into_any();
                    };
                    let on_done = Callback::new(move |_| {
                        chosen.set(None);
                        done.set(Some(t(lang.get_untracked(), K::Saved).to_owned()));
                        // The replica takes the new state with the next pull.
                        sync::engine::sync_now();
                    });
                    let on_cancel = Callback::new(move |_| chosen.set(None));
                    view! { <ActionForm action fault=s.fault usable=Signal::derive(usable) on_done on_cancel/> }.into_any()
                }}
            </section>
        </Show>
    }
}

#[component]
fn ActionForm(
    action: Action,
    fault: Fault,
    usable: Signal<bool>,
    on_done: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let lang = use_lang();
    let id = fault.id;
    let mut initial = Values::new();
    if action == Action::Edit {
        put(&mut initial, "title", &fault.title);
        put_opt(&mut initial, "description", fault.description.clone());
        put(&mut initial, "severity", fault.severity.as_str());
        put_opt(&mut initial, "vendor", fault.vendor.clone());
        put_opt(&mut initial, "vendor_ticket", fault.vendor_ticket.clone());
    } else {
        put_opt(&mut initial, "assignee_id", fault.assignee_id);
    }
    let validate: fn(&Values) -> Vec<FieldError> = match action {
        Action::Edit => validate_update,
        _ => validate_transition,
    };
    let form = Form::new(initial, validate);
    let failure = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);
    let needs_assignee = matches!(
        action,
        Action::Transition(FaultStatus::Assigned) | Action::Reassign
    );
    let assignees = RwSignal::new(Vec::<FaultAssignee>::new());
    if needs_assignee {
        spawn_local(async move {
            match api::faults::assignees(id).await {
                Ok(list) => assignees.set(list),
                Err(e) => failure.set(Some(e)),
            }
        });
    }
    let assignee_options = Signal::derive(move || {
        let lang = lang.get();
        assignees
            .get()
            .into_iter()
            .map(|a| {
                (
                    a.id.to_string(),
                    format!("{} ({})", a.display_name, a.role.label(lang)),
                )
            })
            .collect::<Vec<_>>()
    });
    let severities = Signal::derive(move || severity_options(lang.get()));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        failure.set(None);
        if !form.check() || busy.get_untracked() || !usable.get_untracked() {
            return;
        }
        let values = form.values.get_untracked();
        busy.set(true);
        spawn_local(async move {
            let answer = match action {
                Action::Transition(to) => {
                    api::faults::transition(id, &transition_of(&values, to)).await
                }
                Action::Reassign => {
                    let req = FaultAssign {
                        assignee_id: opt_uuid(&values, "assignee_id").unwrap_or_default(),
                        note: opt_text(&values, "note"),
                    };
                    api::faults::assign(id, &req).await
                }
                Action::Edit => api::faults::edit(id, &update_of(&values)).await,
            };
            busy.set(false);
            match answer {
                Ok(_) => on_done.run(()),
                Err(e) => {
                    // A missing fault form has its own block below, with
                    // the way to it; repeating it as a field error would
                    // only say the same thing twice.
                    let fields = e
                        .fields()
                        .into_iter()
                        .filter(|f| f.code != ErrorCode::FaultFormRequired)
                        .collect();
                    form.server.set(fields);
                    failure.set(Some(e));
                }
            }
        });
    };
    let closing = action == Action::Transition(FaultStatus::Closed);
    let form_required = move || {
        failure
            .with(|f| f.as_ref().and_then(ApiFailure::code) == Some(ErrorCode::FaultFormRequired))
    };
    view! {
        <form class="action-form" data-test="action-form" data-action=action_test(action) on:submit=on_submit novalidate>
            <ErrorBanner error=failure/>
            {move || form_required().then(|| view! { <p class="alert warn" data-test="fault-form-next">{tr(K::FaultFormNext)}</p> })}
            <OrphanErrors form/>
            {match action {
                Action::Edit => view! {
                    <TextField form field="title" required=true/>
                    <TextArea form field="description"/>
                    <SelectField form field="severity" options=severities required=true/>
                    <TextField form field="vendor"/>
                    <TextField form field="vendor_ticket"/>
                }.into_any(),
                Action::Transition(FaultStatus::WaitingVendor) => view! {
                    <TextField form field="vendor"/>
                    <TextField form field="vendor_ticket"/>
                    <TextArea form field="note"/>
                }.into_any(),
                _ if needs_assignee => view! {
                    <SelectField form field="assignee_id" options=assignee_options required=true/>
                    <TextArea form field="note"/>
                }.into_any(),
                _ => view! { <TextArea form field="note"/> }.into_any(),
            }}
            {closing.then(|| view! { <FaultFormStep fault=fault.clone()/> })}
            <div class="actions">
                <button type="submit" class="primary" data-test="confirm-action" disabled=move || busy.get() || !usable.get()>{tr(K::Confirm)}</button>
                <button type="button" on:click=move |_| on_cancel.run(())>{tr(K::Cancel)}</button>
            </div>
        </form>
    }
}

/// Where the fault form stands, and the way to it: closing needs a
/// completed fault form (arıza formu) run on the fault's device, linked to
/// this fault. Starting one works offline, like every checklist.
#[component]
fn FaultFormStep(fault: Fault) -> impl IntoView {
    let lang = use_lang();
    let navigate = use_navigate();
    let can_run = can(Permission::ChecklistsRun);
    let error = RwSignal::new(None::<String>);
    let Some(device) = fault.device else {
        return view! { <p class="hint" data-test="fault-form-state" data-state="no-device">{tr(K::FaultFormNext)}</p> }.into_any();
    };
    let fault_id = fault.id;
    let opened_at = fault.opened_at;
    // The fault form runs of this fault: linked to it, or (as the server
    // also accepts) on its device, linked to nothing, started after it.
    let run = Memo::new(move |_| {
        track();
        sync::runs_for(device.id)
            .into_iter()
            .map(|(run, _)| run)
            .filter(|r| {
                let form = sync::template(r.template_id, r.template_version)
                    .is_some_and(|t| t.purpose == Purpose::FaultForm);
                form && match r.fault_id {
                    Some(f) => f == fault_id,
                    None => r.started_at_ms >= opened_at,
                }
            })
            .max_by_key(|r| (r.status == RunStatus::Completed, r.started_at_ms))
    });
    let start = move |_| {
        let lang_now = lang.get_untracked();
        let target = TargetKind::from(device.kind);
        let Some(template) = sync::latest_templates(lang_now)
            .into_iter()
            .find(|t| t.purpose == Purpose::FaultForm && t.applies_to(target))
        else {
            error.set(Some(
                ErrorCode::UnknownTemplate.message(lang_now).to_owned(),
            ));
            return;
        };
        let run_id = sync::new_id();
        let started = sync::now_ms();
        let navigate = navigate.clone();
        spawn_local(async move {
            let gps = crate::photos::gps::current().await;
            let record = json!({
                "template_id": template.id,
                "template_version": template.version,
                "target_kind": target,
                "target_id": device.id,
                "status": RunStatus::InProgress,
                "started_at_ms": started,
                "gps": gps,
                "fault_id": fault_id,
            });
            let entity = EntityRef {
                kind: EntityKind::ChecklistRun,
                id: run_id,
            };
            match sync::save_entity(entity, &record).await {
                Ok(_) => navigate(&format!("/runs/{run_id}"), NavigateOptions::default()),
                Err(e) => error.set(Some(change_error(&e, lang_now))),
            }
        });
    };
    view! {
        <div class="fault-form-step">
            {move || match run.get() {
                Some(r) if r.status == RunStatus::Completed => view! {
                    <p data-test="fault-form-state" data-state="completed">
                        <A href=format!("/runs/{}", r.id)>{tr(K::FaultForm)}</A> " · " {tr(K::RunCompleted)}
                    </p>
                }.into_any(),
                Some(r) => view! {
                    <p data-test="fault-form-state" data-state="in_progress">
                        <A href=format!("/runs/{}", r.id) attr:class="button" attr:data-test="open-fault-form">{tr(K::OpenFaultForm)}</A>
                        " " {tr(K::RunInProgress)}
                    </p>
                }.into_any(),
                None => {
                    let start = start.clone();
                    view! {
                    <p data-test="fault-form-state" data-state="missing">
                        <Show when=can_run fallback=|| view! { <span>{tr(K::FaultFormNext)}</span> }>
                            <button type="button" data-test="start-fault-form" on:click=start.clone()>{tr(K::StartFaultForm)}</button>
                        </Show>
                    </p>
                    }.into_any()
                }
            }}
            {move || error.get().map(|e| view! { <p class="alert error" role="alert" data-test="error">{e}</p> })}
        </div>
    }
    .into_any()
}
