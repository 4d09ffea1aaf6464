//! Maintenance (DOMAIN.md §10): `/maintenance`, what is due and overdue
//! per site, with "start maintenance"; `/maintenance/calendar`, a month of
//! it; `/maintenance/schedules`, the rules ("every camera every 180 days").
//!
//! Offline: the due list and the calendar are computed by the server, from
//! every device's registration date and every completed run, which the
//! replica does not hold. So the app keeps its last answers in IndexedDB
//! and, when the server cannot be reached, shows them marked "as of
//! <time>". Over that copy it lays the runs completed on this tablet since,
//! dated and counted with the shared rules (`UtcOffset::date_of`,
//! `schedules::next_due`), so a technician who has just finished a
//! maintenance in a basement sees it done and its next date at once.

use std::collections::{BTreeMap, HashMap};

use gozcu_shared::api_fieldwork::{
    next_month, parse_month, DueEntry, DueReport, MaintenanceCalendar,
};
use gozcu_shared::checklists::{Run, RunStatus};
use gozcu_shared::inventory::DeviceKind;
use gozcu_shared::schedules::{next_due, Schedule, ScheduleTarget, UtcOffset};
use gozcu_shared::sync::EntityKind;
use gozcu_shared::validate::Date;
use gozcu_shared::{ErrorCode, FieldError, Lang, Permission};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::NavigateOptions;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::alert::{ErrorBanner, OkBanner};
use crate::components::form::{
    opt_uuid, put, text, Form, OrphanErrors, SelectField, TextField, Values,
};
use crate::i18n::{format_ms, t, tr, use_lang, K};
use crate::routes::checklists::{change_error, start_run};
use crate::session::{can, kind_path};
use crate::sync::{self, track, use_sync};

const KINDS: [DeviceKind; 3] = [DeviceKind::Camera, DeviceKind::Recorder, DeviceKind::Switch];

/// The IndexedDB name of the kept due list; calendar months are kept as
/// `maintenance_calendar:<YYYY-MM>` (`current` for "this month").
const DUE_KEPT: &str = "maintenance_due";

/// A server answer as kept on the tablet: the JSON as it came, so that
/// keeping and reading it back needs no serializer per answer type.
#[derive(Serialize, Deserialize)]
struct Kept {
    fetched_ms: i64,
    value: Value,
}

/// What a page shows: a fresh answer, or the kept one when offline.
#[derive(Clone)]
struct Shown<T> {
    value: T,
    fetched_ms: i64,
    offline: bool,
}

/// Asks the server (`GET /api/v1<path>`) and keeps the answer under
/// `name`; without a network, the answer kept last time, read as `T`.
async fn fresh_or_kept<T: DeserializeOwned>(
    name: String,
    path: &'static str,
    query: Vec<(&'static str, String)>,
) -> Result<Shown<T>, ApiFailure> {
    let shown = fresh_or_kept_json(name, path, query).await?;
    Ok(Shown {
        value: serde_json::from_value(shown.value)
            .map_err(|e| ApiFailure::Network(e.to_string()))?,
        fetched_ms: shown.fetched_ms,
        offline: shown.offline,
    })
}

/// The part of [`fresh_or_kept`] that does not depend on the answer's
/// type, so the app carries it once.
async fn fresh_or_kept_json(
    name: String,
    path: &'static str,
    query: Vec<(&'static str, String)>,
) -> Result<Shown<Value>, ApiFailure> {
    let store = sync::with_replica(|r| r.store.clone());
    match api::maintenance::fetch(path, &query).await {
        Ok(value) => {
            let kept = Kept {
                fetched_ms: sync::now_ms(),
                value,
            };
            if let Some(store) = &store {
                // A copy that cannot be written only loses the offline
                // view; the page still shows the answer.
                if let Err(e) = store.keep(&name, &kept).await {
                    leptos::logging::warn!("cannot keep {name}: {e}");
                }
            }
            Ok(Shown {
                value: kept.value,
                fetched_ms: kept.fetched_ms,
                offline: false,
            })
        }
        Err(ApiFailure::Network(e)) => {
            let kept = match &store {
                Some(s) => s.kept::<Kept>(&name).await.ok().flatten(),
                None => None,
            };
            kept.map(|k| Shown {
                value: k.value,
                fetched_ms: k.fetched_ms,
                offline: true,
            })
            .ok_or(ApiFailure::Network(e))
        }
        Err(e) => Err(e),
    }
}

/// "Today" where the institution is, now (not when the answer was fetched).
fn today(utc_offset_minutes: i32) -> Date {
    UtcOffset::from_minutes(utc_offset_minutes)
        .unwrap_or_default()
        .date_of(sync::now_ms())
}

fn fill(lang: Lang, k: K, pairs: &[(&str, &str)]) -> String {
    let mut s = t(lang, k).to_owned();
    for (name, value) in pairs {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

fn kind_label(lang: Lang, kind: DeviceKind) -> &'static str {
    t(
        lang,
        match kind {
            DeviceKind::Camera => K::Camera,
            DeviceKind::Recorder => K::Recorder,
            DeviceKind::Switch => K::Switch,
        },
    )
}

fn entry_title(e: &DueEntry, lang: Lang) -> String {
    e.template_title
        .as_ref()
        .map(|t| t.get(lang).to_owned())
        .or_else(|| e.template_key.clone())
        .unwrap_or_else(|| e.item.template_id.to_string())
}

fn device_href(e: &DueEntry) -> String {
    format!("/{}/{}", kind_path(e.device_kind), e.item.device_id)
}

/// The tabs over the three maintenance pages.
#[component]
fn Tabs() -> impl IntoView {
    let can_write = can(Permission::SchedulesWrite);
    view! {
        <nav class="tabs" aria-label=tr(K::NavMaintenance)>
            <A href="/maintenance" exact=true attr:data-test="tab-due">{tr(K::MaintTitle)}</A>
            <A href="/maintenance/calendar" attr:data-test="tab-calendar">{tr(K::MaintCalendar)}</A>
            <Show when=can_write>
                <A href="/maintenance/schedules" attr:data-test="tab-schedules">{tr(K::MaintRules)}</A>
            </Show>
        </nav>
    }
}

/// The "offline, as of" line over a kept answer.
fn offline_note(lang: Lang, fetched_ms: i64) -> impl IntoView {
    let text = fill(
        lang,
        K::MaintAsOf,
        &[("time", &format_ms(fetched_ms, lang))],
    );
    view! { <p class="alert warn" role="status" data-test="maint-offline" data-as-of=fetched_ms.to_string()>{text}</p> }
}

/// Whether the user's database is open, so kept answers can be read and
/// written; the pages wait for it.
fn store_ready() -> Memo<bool> {
    let sync = use_sync();
    Memo::new(move |_| sync.status.with(|s| s.ready))
}

// ---- the due list -----------------------------------------------------------

/// What this tablet knows beyond the server's answer about one device and
/// template: a run completed here since (its day, and whether it is still
/// unsent), and a run in progress to continue.
#[derive(Clone, Default)]
struct Local {
    done: Option<(Date, bool)>,
    open_run: Option<Uuid>,
}

/// The runs in the replica by (device, template), read once per render.
fn local_runs(tz: UtcOffset) -> HashMap<(Uuid, Uuid), Local> {
    let mut out: HashMap<(Uuid, Uuid), Local> = HashMap::new();
    sync::for_each_entity(EntityKind::ChecklistRun, |id, state, unsent| {
        let Some(mut values) = state.values() else {
            return;
        };
        values.insert("id".into(), Value::String(id.to_string()));
        let Ok(run) = serde_json::from_value::<Run>(Value::Object(values)) else {
            return;
        };
        let local = out.entry((run.target_id, run.template_id)).or_default();
        match (run.status, run.completed_at_ms) {
            (RunStatus::Completed, Some(ms)) => {
                let day = tz.date_of(ms);
                if local.done.is_none_or(|(d, _)| day >= d) {
                    local.done = Some((day, unsent));
                }
            }
            (RunStatus::InProgress, _) => local.open_run = Some(run.id),
            _ => {}
        }
    });
    out
}

/// `/maintenance/:tab?`: one route for the three pages, which keeps the
/// router's table (and the wasm) smaller than three routes would.
#[component]
pub fn MaintenancePage() -> impl IntoView {
    let params = use_params_map();
    move || match params.with(|p| p.get("tab")).as_deref() {
        None => view! { <DuePage/> }.into_any(),
        Some("calendar") => view! { <CalendarPage/> }.into_any(),
        Some("schedules") => view! { <SchedulesPage/> }.into_any(),
        Some(_) => view! { <p class="empty">{tr(K::NotFoundPage)}</p> }.into_any(),
    }
}

/// `/maintenance`.
#[component]
fn DuePage() -> impl IntoView {
    let lang = use_lang();
    let ready = store_ready();
    let online = use_sync().status;
    let due = LocalResource::new(move || {
        let ready = ready.get();
        async move {
            if !ready {
                return None;
            }
            Some(
                fresh_or_kept::<DueReport>(DUE_KEPT.to_owned(), api::maintenance::DUE, Vec::new())
                    .await,
            )
        }
    });
    // Back online: fetch again rather than keep showing the old copy.
    let was_online = Memo::new(move |_| online.with(|s| s.online));
    Effect::new(move |prev: Option<bool>| {
        let now = was_online.get();
        if prev == Some(false) && now {
            due.refetch();
        }
        now
    });
    let site = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    // A row's "start" asks here; one start at a time.
    let start_req = RwSignal::new(None::<DueEntry>);
    let navigate = use_navigate();
    Effect::new(move |_| {
        let Some(entry) = start_req.get() else {
            return;
        };
        let lang = lang.get_untracked();
        let template = sync::latest_templates(lang)
            .into_iter()
            .find(|t| t.id == entry.item.template_id);
        let Some(template) = template else {
            error.set(Some(t(lang, K::MaintTemplateMissing).to_owned()));
            start_req.set(None);
            return;
        };
        let navigate = navigate.clone();
        spawn_local(async move {
            match start_run(&template, entry.device_kind.into(), entry.item.device_id).await {
                Ok(id) => navigate(&format!("/runs/{id}"), NavigateOptions::default()),
                Err(e) => error.set(Some(change_error(&e, lang))),
            }
            // The page may be gone already (we navigated away).
            start_req.try_set(None);
        });
    });
    let can_run = can(Permission::ChecklistsRun);
    view! {
        <Tabs/>
        <div class="page-head">
            <h1>{tr(K::MaintTitle)}</h1>
            <button type="button" data-test="maint-refresh" on:click=move |_| due.refetch()>{tr(K::Refresh)}</button>
        </div>
        {move || error.get().map(|e| view! { <p class="alert error" role="alert" data-test="error">{e}</p> })}
        {move || {
            let lang = lang.get();
            match due.get().flatten() {
                None => view! { <p>{t(lang, K::Loading)}</p> }.into_any(),
                Some(Err(ApiFailure::Network(_))) => {
                    view! { <p class="alert warn" data-test="maint-no-copy">{t(lang, K::MaintNoCopy)}</p> }.into_any()
                }
                Some(Err(e)) => view! { <ErrorBanner error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                Some(Ok(shown)) => view! { <DueList shown site start_req can_run=can_run()/> }.into_any(),
            }
        }}
    }
}

#[component]
fn DueList(
    shown: Shown<DueReport>,
    site: RwSignal<String>,
    start_req: RwSignal<Option<DueEntry>>,
    can_run: bool,
) -> impl IntoView {
    let lang = use_lang();
    let report = StoredValue::new(shown.value);
    let options: Vec<(String, String)> = report.with_value(|r| {
        r.sites
            .iter()
            .map(|s| (s.site_id.to_string(), s.site_name.clone()))
            .collect()
    });
    let offline = shown
        .offline
        .then(|| offline_note(lang.get_untracked(), shown.fetched_ms));
    let body = move || {
        track();
        let lang = lang.get();
        let chosen = site.get();
        let (tz_minutes, sites) = report.with_value(|r| (r.utc_offset_minutes, r.sites.clone()));
        let tz = UtcOffset::from_minutes(tz_minutes).unwrap_or_default();
        let today = tz.date_of(sync::now_ms());
        let local = local_runs(tz);
        let sites: Vec<_> = sites
            .into_iter()
            .filter(|s| chosen.is_empty() || s.site_id.to_string() == chosen)
            .collect();
        if sites.is_empty() {
            return view! { <p class="empty" data-test="maint-nothing">{t(lang, K::MaintNothingDue)}</p> }.into_any();
        }
        sites
            .into_iter()
            .map(|s| {
                let items: Vec<_> = s
                    .items
                    .into_iter()
                    .map(|mut e| {
                        let l = local
                            .get(&(e.item.device_id, e.item.template_id))
                            .cloned()
                            .unwrap_or_default();
                        let done = apply_local(&mut e, l.done);
                        (e, done, l.open_run)
                    })
                    .collect();
                let overdue = items.iter().filter(|(e, ..)| e.item.due < today).count();
                let name = s.site_name.clone();
                let rows = items
                    .into_iter()
                    .map(|(e, done, open_run)| due_row(e, done, open_run, today, lang, start_req, can_run))
                    .collect_view();
                view! {
                    <section class="card due-site" data-test="due-site" data-site=name>
                        <h2>
                            {s.site_name}
                            {(overdue > 0).then(|| view! { <span class="badge overdue" data-test="due-overdue-count">{overdue}" "{t(lang, K::MaintOverdueCount)}</span> })}
                        </h2>
                        <div class="table-wrap">
                            <table class="list">
                                <thead>
                                    <tr>
                                        <th>{crate::i18n::field_label(lang, "name")}</th>
                                        <th>{t(lang, K::ChecklistRun)}</th>
                                        <th>{t(lang, K::MaintDue)}</th>
                                        <th></th>
                                        <th>{t(lang, K::MaintLastDone)}</th>
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </div>
                    </section>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        {offline}
        <div class="filters">
            <select id="maint-site" data-test="maint-site" aria-label=tr(K::AllSites) on:change=move |ev| site.set(event_target_value(&ev))>
                <option value="">{tr(K::AllSites)}</option>
                {options
                    .into_iter()
                    .map(|(id, name)| {
                        let selected = site.get_untracked() == id;
                        view! { <option value=id selected=selected>{name}</option> }
                    })
                    .collect_view()}
            </select>
        </div>
        {body}
    }
}

/// Lays a run completed on this tablet over the server's entry when it is
/// newer than the server's last completed one: the entry then counts from
/// it with the same rule the server will apply once the run arrives.
/// Returns the run's day and whether it is still unsent.
fn apply_local(e: &mut DueEntry, done: Option<(Date, bool)>) -> Option<(Date, bool)> {
    let (day, unsent) = done.filter(|(d, _)| e.item.last_completed.is_none_or(|l| *d > l))?;
    e.item.last_completed = Some(day);
    e.item.due = next_due(Some(day), day, e.item.every_days);
    Some((day, unsent))
}

fn due_row(
    e: DueEntry,
    done: Option<(Date, bool)>,
    open_run: Option<Uuid>,
    today: Date,
    lang: Lang,
    start_req: RwSignal<Option<DueEntry>>,
    can_run: bool,
) -> impl IntoView {
    let days = today.to_days() - e.item.due.to_days();
    let when = match days {
        0 => t(lang, K::MaintDueToday).to_owned(),
        d if d > 0 => fill(lang, K::MaintOverdueN, &[("n", &d.to_string())]),
        d => fill(lang, K::MaintLeftN, &[("n", &(-d).to_string())]),
    };
    let last = e
        .item
        .last_completed
        .map(|d| d.to_string())
        .unwrap_or_default();
    let action = match (done, open_run) {
        (Some((day, unsent)), _) => {
            let next = e.item.due;
            let text = fill(
                lang,
                K::MaintDoneNext,
                &[("done", &day.to_string()), ("next", &next.to_string())],
            );
            view! {
                <span class="done" data-test="due-done" data-done=day.to_string() data-next=next.to_string()>{text}</span>
                {unsent.then(|| view! { <span class="unsent" data-test="unsent">{t(lang, K::NotSent)}</span> })}
            }
            .into_any()
        }
        (None, Some(run)) => view! {
            <a href=format!("/runs/{run}") class="button" data-test="due-continue">{t(lang, K::MaintContinue)}</a>
        }
        .into_any(),
        (None, None) => {
            let entry = e.clone();
            can_run
                .then(|| {
                    view! {
                        <button type="button" class="primary" data-test="due-start"
                            disabled=move || start_req.with(Option::is_some)
                            on:click=move |_| start_req.set(Some(entry.clone()))>
                            {t(lang, K::MaintStart)}
                        </button>
                    }
                })
                .into_any()
        }
    };
    let late = days > 0;
    let (href, name, title) = (
        device_href(&e),
        e.device_name.clone(),
        entry_title(&e, lang),
    );
    view! {
        <tr data-test="due-row" data-device=e.item.device_id.to_string() data-template=e.item.template_id.to_string()
            data-due=e.item.due.to_string() data-days=days.to_string() class:overdue=late>
            <td>
                <a href=href>{name}</a>
                <span class="badge">{kind_label(lang, e.device_kind)}</span>
            </td>
            <td>{title}</td>
            <td class="mono">{e.item.due.to_string()}</td>
            <td data-test="due-days">{when}</td>
            <td class="mono">{last}</td>
            <td>{action}</td>
        </tr>
    }
}

// ---- the calendar -----------------------------------------------------------

/// A date as the browser writes it in the UI language, from `options`
/// (e.g. `month: long`); the wasm carries no month or day names.
fn date_words(d: Date, lang: Lang, options: &[(&str, &str)]) -> String {
    let opts = js_sys::Object::new();
    for (k, v) in options.iter().chain(&[("timeZone", "UTC")]) {
        let _ = js_sys::Reflect::set(&opts, &(*k).into(), &(*v).into());
    }
    // Noon, so that no offset can move it to another day.
    let ms = d.to_days() as f64 * 86_400_000.0 + 43_200_000.0;
    let locale = match lang {
        Lang::Tr => "tr-TR",
        Lang::En => "en-GB",
    };
    js_sys::Date::new(&ms.into())
        .to_locale_date_string(locale, &opts)
        .into()
}

/// `/maintenance/calendar`.
#[component]
fn CalendarPage() -> impl IntoView {
    let lang = use_lang();
    let ready = store_ready();
    // `None`: this month, as the server counts it.
    let month = RwSignal::new(None::<String>);
    let cal = LocalResource::new(move || {
        let (ready, month) = (ready.get(), month.get());
        async move {
            if !ready {
                return None;
            }
            let name = format!(
                "maintenance_calendar:{}",
                month.as_deref().unwrap_or("current")
            );
            let query = month.map(|m| ("month", m)).into_iter().collect();
            Some(
                fresh_or_kept::<MaintenanceCalendar>(name, api::maintenance::CALENDAR, query).await,
            )
        }
    });
    let go = move |first: Date| month.set(Some(format!("{:04}-{:02}", first.year, first.month)));
    view! {
        <Tabs/>
        <h1>{tr(K::MaintCalendar)}</h1>
        {move || {
            let lang = lang.get();
            match cal.get().flatten() {
                None => view! { <p>{t(lang, K::Loading)}</p> }.into_any(),
                Some(Err(e)) => {
                    let offline = matches!(e, ApiFailure::Network(_));
                    view! {
                        {offline.then(|| view! { <p class="alert warn" data-test="maint-no-copy">{t(lang, K::MaintMonthNotKept)}</p> })}
                        {(!offline).then(|| view! { <ErrorBanner error=Signal::derive(move || Some(e.clone()))/> })}
                        <button type="button" data-test="cal-this-month" on:click=move |_| month.set(None)>{t(lang, K::MaintToday)}</button>
                    }
                    .into_any()
                }
                Some(Ok(shown)) => {
                    let Ok(first) = parse_month(&shown.value.month) else {
                        return view! { <p class="alert error">{shown.value.month.clone()}</p> }.into_any();
                    };
                    let prev = Date { day: 1, ..Date::from_days(first.to_days() - 1) };
                    let next = next_month(first);
                    view! {
                        {shown.offline.then(|| offline_note(lang, shown.fetched_ms))}
                        <div class="cal-head">
                            <button type="button" data-test="cal-prev" on:click=move |_| go(prev)>{t(lang, K::Prev)}</button>
                            <h2 data-test="cal-month" data-month=shown.value.month.clone()>
                                {date_words(first, lang, &[("month", "long"), ("year", "numeric")])}
                            </h2>
                            <button type="button" data-test="cal-next" on:click=move |_| go(next)>{t(lang, K::Next)}</button>
                        </div>
                        {month_grid(first, shown.value.days.clone(), today(shown.value.utc_offset_minutes), lang)}
                    }
                    .into_any()
                }
            }
        }}
    }
}

/// A month as weeks from Monday (as Turkish calendars are), each day with
/// what is planned on it; below 700px wide, a list of the days that have
/// something.
fn month_grid(
    first: Date,
    days: Vec<gozcu_shared::api_fieldwork::CalendarDay>,
    today: Date,
    lang: Lang,
) -> impl IntoView {
    let mut by_day: BTreeMap<Date, Vec<DueEntry>> =
        days.into_iter().map(|d| (d.date, d.items)).collect();
    let end = next_month(first).to_days();
    // 1970-01-01 was a Thursday: day 0 is Monday's index 3.
    let lead = (first.to_days() + 3).rem_euclid(7);
    let monday = Date::from_days(first.to_days() - lead);
    let heads = (0..7)
        .map(|i| {
            let d = Date::from_days(monday.to_days() + i);
            view! { <div class="cal-weekday">{date_words(d, lang, &[("weekday", "short")])}</div> }
        })
        .collect_view();
    let blanks = (0..lead)
        .map(|_| view! { <div class="cal-day blank" aria-hidden="true"></div> })
        .collect_view();
    let cells = (first.to_days()..end)
        .map(|n| {
            let date = Date::from_days(n);
            let items = by_day.remove(&date).unwrap_or_default();
            let is_today = date == today;
            let has_items = !items.is_empty();
            let list = items
                .into_iter()
                .map(|e| {
                    let title = entry_title(&e, lang);
                    let href = device_href(&e);
                    let overdue = e.item.due < today;
                    view! {
                        <li data-test="cal-item" data-device=e.item.device_id.to_string()
                            class:projected=e.projected class:overdue=overdue>
                            <a href=href>{e.device_name}</a>
                            <span class="small">{title}</span>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <div class="cal-day" class:today=is_today class:has-items=has_items
                    data-test="cal-day" data-date=date.to_string() data-today=is_today.to_string()
                    aria-current=is_today.then_some("date")>
                    <span class="cal-num">
                        <span class="cal-wd">{date_words(date, lang, &[("weekday", "short")])}" "</span>
                        {date.day}
                    </span>
                    <ul>{list}</ul>
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="cal-grid" data-test="cal-grid">
            {heads}
            {blanks}
            {cells}
        </div>
    }
}

// ---- the schedule rules -----------------------------------------------------

/// A device in the replica: its kind, name and site.
fn device_info(id: Uuid) -> Option<(DeviceKind, String, String)> {
    KINDS.into_iter().find_map(|kind| {
        let (v, _) = sync::entity::<Value>(kind.into(), id)?;
        let field = |f: &str| {
            v.get(f)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Some((kind, field("name"), field("site_id")))
    })
}

/// The devices of one kind at one site, as `(id, name)` by name.
fn device_options(kind: DeviceKind, site: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    sync::for_each_entity(kind.into(), |id, state, _| {
        if state.get("site_id").and_then(Value::as_str) == Some(site) {
            let name = state
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            out.push((id.to_string(), name.to_owned()));
        }
    });
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// The form's text as a schedule, with the checks the server makes first.
/// `target` is `all` for every device of the type, or a device id.
fn schedule_from(v: &Values) -> Result<Schedule, Vec<FieldError>> {
    let mut errs = Vec::new();
    let kind = DeviceKind::parse(&text(v, "device_kind"));
    if kind.is_none() {
        errs.push(FieldError::new("device_kind", ErrorCode::Required));
    }
    let target = match text(v, "target").as_str() {
        "all" => kind.map(ScheduleTarget::DeviceType),
        id => match Uuid::parse_str(id) {
            Ok(id) => Some(ScheduleTarget::Device(id)),
            Err(_) => {
                errs.push(FieldError::new("target", ErrorCode::Required));
                None
            }
        },
    };
    let days = text(v, "every_days");
    let every_days = match days.trim() {
        "" => {
            errs.push(FieldError::new("every_days", ErrorCode::Required));
            1
        }
        d => match d.parse::<i64>() {
            // Out of range is the shared rule's to say.
            Ok(n) => u32::try_from(n).unwrap_or(0),
            Err(_) => {
                errs.push(FieldError::new("every_days", ErrorCode::InvalidNumber));
                1
            }
        },
    };
    let s = Schedule {
        id: Uuid::nil(),
        target: target.unwrap_or(ScheduleTarget::DeviceType(DeviceKind::Camera)),
        every_days,
        template_id: opt_uuid(v, "template_id").unwrap_or_default(),
    };
    if let Err(more) = s.validate() {
        for e in more {
            if !errs.contains(&e) {
                errs.push(e);
            }
        }
    }
    if errs.is_empty() {
        Ok(s)
    } else {
        Err(errs)
    }
}

fn validate_schedule(v: &Values) -> Vec<FieldError> {
    schedule_from(v).err().unwrap_or_default()
}

fn values_of(s: Option<&Schedule>) -> Values {
    let mut v = Values::new();
    match s.map(|s| (s.target, s)) {
        Some((ScheduleTarget::DeviceType(kind), s)) => {
            put(&mut v, "device_kind", kind.as_str());
            put(&mut v, "target", "all");
            put(&mut v, "template_id", s.template_id);
            put(&mut v, "every_days", s.every_days);
        }
        Some((ScheduleTarget::Device(id), s)) => {
            if let Some((kind, _, site)) = device_info(id) {
                put(&mut v, "device_kind", kind.as_str());
                put(&mut v, "site_id", site);
            }
            put(&mut v, "target", id);
            put(&mut v, "template_id", s.template_id);
            put(&mut v, "every_days", s.every_days);
        }
        None => {
            put(&mut v, "device_kind", DeviceKind::Camera.as_str());
            put(&mut v, "target", "all");
        }
    }
    v
}

fn template_name(id: Uuid, lang: Lang) -> String {
    sync::latest_templates(lang)
        .into_iter()
        .find(|t| t.id == id)
        .map_or_else(|| id.to_string(), |t| t.title.get(lang).to_owned())
}

/// What a rule applies to, and the device's page for a device rule.
fn target_text(target: ScheduleTarget, lang: Lang) -> (String, Option<String>) {
    match target {
        ScheduleTarget::DeviceType(kind) => (
            fill(lang, K::MaintTypeRule, &[("kind", kind_label(lang, kind))]),
            None,
        ),
        ScheduleTarget::Device(id) => match device_info(id) {
            Some((kind, name, _)) => (name, Some(format!("/{}/{id}", kind_path(kind)))),
            None => (id.to_string(), None),
        },
    }
}

/// `/maintenance/schedules`: everyone may read the rules; those who may
/// set them (`SchedulesWrite`) get the form, edit and delete.
#[component]
fn SchedulesPage() -> impl IntoView {
    let lang = use_lang();
    let can_write = can(Permission::SchedulesWrite);
    let rules = LocalResource::new(api::maintenance::schedules);
    let editing = RwSignal::new(None::<Schedule>);
    let generation = RwSignal::new(0u32);
    let error = RwSignal::new(None::<ApiFailure>);
    let remove = move |id: Uuid| {
        let lang = lang.get_untracked();
        let sure = window()
            .confirm_with_message(t(lang, K::ConfirmDelete))
            .unwrap_or(false);
        if !sure {
            return;
        }
        spawn_local(async move {
            match api::maintenance::delete(id).await {
                Ok(()) => {
                    error.set(None);
                    if editing.with_untracked(|e| e.as_ref().is_some_and(|s| s.id == id)) {
                        editing.set(None);
                        generation.update(|g| *g += 1);
                    }
                    rules.refetch();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <Tabs/>
        <div class="page-head">
            <h1>{tr(K::MaintRules)}</h1>
            <Show when=can_write>
                <button type="button" class="primary" data-test="rule-new" on:click=move |_| {
                    editing.set(None);
                    generation.update(|g| *g += 1);
                }>{tr(K::MaintNewRule)}</button>
            </Show>
        </div>
        <ErrorBanner error=error/>
        <div class="two-col">
            <div class="table-wrap">
                {move || {
                    track();
                    let lang = lang.get();
                    let writer = can_write();
                    match rules.get() {
                        None => view! { <p>{t(lang, K::Loading)}</p> }.into_any(),
                        Some(Err(e)) => view! { <ErrorBanner error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                        Some(Ok(list)) if list.is_empty() => view! { <p class="empty" data-test="no-rules">{t(lang, K::MaintNoRules)}</p> }.into_any(),
                        Some(Ok(list)) => view! {
                            <table class="list" data-test="rules-table">
                                <thead>
                                    <tr>
                                        <th>{crate::i18n::field_label(lang, "target")}</th>
                                        <th>{crate::i18n::field_label(lang, "template_id")}</th>
                                        <th>{crate::i18n::field_label(lang, "every_days")}</th>
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list
                                        .into_iter()
                                        .map(|s| {
                                            let (target, href) = target_text(s.target, lang);
                                            let rule = s.clone();
                                            let id = s.id;
                                            let kind = match s.target {
                                                ScheduleTarget::DeviceType(_) => "device_type",
                                                ScheduleTarget::Device(_) => "device",
                                            };
                                            view! {
                                                <tr data-test="rule-row" data-id=id.to_string() data-target=kind data-every=s.every_days.to_string()>
                                                    <td><a href=href>{target}</a></td>
                                                    <td>{template_name(s.template_id, lang)}</td>
                                                    <td>{fill(lang, K::MaintEveryN, &[("n", &s.every_days.to_string())])}</td>
                                                    <td>
                                                        {writer.then(|| view! {
                                                            <button type="button" data-test="rule-edit" on:click=move |_| {
                                                                editing.set(Some(rule.clone()));
                                                                generation.update(|g| *g += 1);
                                                            }>{t(lang, K::Edit)}</button>
                                                            <button type="button" class="danger" data-test="rule-delete" on:click=move |_| remove(id)>{t(lang, K::Delete)}</button>
                                                        })}
                                                    </td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                        }
                        .into_any(),
                    }
                }}
            </div>
            <Show when=can_write>
                // A new form per selection, so no state leaks between rules.
                {move || {
                    generation.get();
                    let rule = editing.get_untracked();
                    view! { <ScheduleForm rule on_saved=move || rules.refetch()/> }
                }}
            </Show>
        </div>
    }
}

#[component]
fn ScheduleForm(rule: Option<Schedule>, on_saved: impl Fn() + Copy + 'static) -> impl IntoView {
    let lang = use_lang();
    let id = rule.as_ref().map(|s| s.id);
    let form = Form::new(values_of(rule.as_ref()), validate_schedule);
    let error = RwSignal::new(None::<ApiFailure>);
    let ok = RwSignal::new(None::<String>);
    // Another type or site makes the chosen device and checklist wrong:
    // start those again instead of sending a mismatch.
    Effect::new(move |prev: Option<(String, String)>| {
        let now = (form.get("device_kind"), form.get("site_id"));
        if let Some(prev) = prev.filter(|p| *p != now) {
            // Quietly: these fields were not touched by the user.
            form.values.update(|v| {
                if prev.0 != now.0 {
                    v.insert("template_id".into(), String::new());
                }
                v.insert("target".into(), "all".into());
            });
        }
        now
    });
    let kind_options = Signal::derive(move || {
        KINDS
            .into_iter()
            .map(|k| (k.as_str().to_owned(), kind_label(lang.get(), k).to_owned()))
            .collect::<Vec<_>>()
    });
    let site_options = Signal::derive(move || {
        track();
        sync::site_options()
    });
    let target_options = Signal::derive(move || {
        track();
        let lang = lang.get();
        let mut out = vec![("all".to_owned(), t(lang, K::MaintAllOfType).to_owned())];
        let current = form.get("target");
        if let Some(kind) = DeviceKind::parse(&form.get("device_kind")) {
            let site = form.get("site_id");
            if !site.is_empty() {
                out.extend(device_options(kind, &site));
            }
        }
        // A device not in this tablet's copy still shows as what it is.
        if !out.iter().any(|(v, _)| *v == current) && !current.is_empty() {
            out.push((current.clone(), current));
        }
        out
    });
    let template_options = Signal::derive(move || {
        track();
        let lang = lang.get();
        let kind = DeviceKind::parse(&form.get("device_kind"));
        sync::latest_templates(lang)
            .into_iter()
            .filter(|t| kind.is_some_and(|k| t.applies_to(k.into())))
            .map(|t| (t.id.to_string(), t.title.get(lang).to_owned()))
            .collect::<Vec<_>>()
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        ok.set(None);
        if !form.check() {
            return;
        }
        let Ok(schedule) = schedule_from(&form.values.get_untracked()) else {
            return;
        };
        spawn_local(async move {
            let r = match id {
                None => api::maintenance::create(&schedule).await,
                Some(id) => api::maintenance::update(id, &schedule).await,
            };
            match r {
                Ok(saved) => {
                    form.reset(values_of(if id.is_none() { None } else { Some(&saved) }));
                    ok.set(Some(t(lang.get_untracked(), K::Saved).to_owned()));
                    on_saved();
                }
                Err(e) => {
                    form.server.set(e.fields());
                    error.set(Some(e));
                }
            }
        });
    };
    view! {
        <form class="card" id="rule-form" data-test="rule-form" on:submit=on_submit novalidate=true>
            <h2>{tr(if id.is_none() { K::MaintNewRule } else { K::MaintEditRule })}</h2>
            <ErrorBanner error=error/>
            <OkBanner message=ok/>
            <OrphanErrors form/>
            <SelectField form field="device_kind" options=kind_options required=true/>
            <SelectField form field="site_id" options=site_options/>
            <SelectField form field="target" options=target_options required=true/>
            <SelectField form field="template_id" options=template_options required=true/>
            <TextField form field="every_days" input_type="number" required=true/>
            <div class="actions">
                <button type="submit" class="primary" data-test="rule-save">{tr(K::Save)}</button>
            </div>
        </form>
    }
}
