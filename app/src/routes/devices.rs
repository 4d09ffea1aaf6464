//! Camera, recorder and switch lists. The server searches, filters, sorts
//! and pages; the page holds one page of rows at a time, so a 10,000-camera
//! inventory costs no more than a 100-camera one. Typing in the search box
//! waits 250 ms of quiet before asking, so a fast typist sends one request.

use std::collections::HashMap;

use gozcu_shared::api::{ListQuery, Page};
use gozcu_shared::inventory::{DeviceKind, DeviceStatus};
use gozcu_shared::Permission;
use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

use crate::api::{self, ApiFailure, DeviceRecord};
use crate::components::alert::ErrorBanner;
use crate::components::pager::Pager;
use crate::i18n::{field_label, tr, use_lang, K};
use crate::session::{can, kind_path, use_sites};

const PAGE_SIZE: u32 = 100;
const DEBOUNCE_MS: u64 = 250;

/// What a list row shows, whatever the device kind.
#[derive(Clone)]
struct Row {
    id: Uuid,
    name: String,
    make_model: String,
    serial: String,
    ip: String,
    mac: String,
    status: DeviceStatus,
    site_id: Uuid,
    warranty_end: String,
}

fn rows<T: DeviceRecord>(p: Page<T>) -> (Vec<Row>, u64) {
    let rows = p
        .items
        .iter()
        .map(|d| {
            let a = d.asset();
            Row {
                id: d.id(),
                name: d.name().to_owned(),
                make_model: match &a.model {
                    Some(m) => format!("{} {m}", a.make),
                    None => a.make.clone(),
                },
                serial: a.serial.clone().unwrap_or_default(),
                ip: a.ip.clone().unwrap_or_default(),
                mac: a.mac.clone().unwrap_or_default(),
                status: a.status,
                site_id: d.site_id(),
                warranty_end: a.warranty_end.clone().unwrap_or_default(),
            }
        })
        .collect();
    (rows, p.total)
}

async fn fetch(kind: DeviceKind, q: ListQuery) -> Result<(Vec<Row>, u64), ApiFailure> {
    Ok(match kind {
        DeviceKind::Camera => rows(api::cameras::list(&q).await?),
        DeviceKind::Recorder => rows(api::recorders::list(&q).await?),
        DeviceKind::Switch => rows(api::switches::list(&q).await?),
    })
}

/// Sortable columns: `(sort key sent to the server, field label key)`.
const COLUMNS: &[(&str, &str)] = &[
    ("name", "name"),
    ("serial", "serial"),
    ("ip", "ip"),
    ("status", "status"),
    ("warranty_end", "warranty_end"),
];

#[component]
pub fn DeviceListPage(kind: DeviceKind) -> impl IntoView {
    let lang = use_lang();
    let sites = use_sites();
    let can_write = can(Permission::InventoryWrite);
    let search_text = RwSignal::new(String::new());
    let q = RwSignal::new(String::new());
    let site = RwSignal::new(None::<Uuid>);
    let status = RwSignal::new(None::<DeviceStatus>);
    let sort = RwSignal::new("name".to_owned());
    let desc = RwSignal::new(false);
    let offset = RwSignal::new(0u32);

    // Debounce: each keystroke replaces the pending timer.
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let on_search = move |ev: leptos::ev::Event| {
        search_text.set(event_target_value(&ev));
        if let Some(h) = pending.get_value() {
            h.clear();
        }
        let h = set_timeout_with_handle(
            move || {
                offset.set(0);
                q.set(search_text.get_untracked());
            },
            std::time::Duration::from_millis(DEBOUNCE_MS),
        )
        .ok();
        pending.set_value(h);
    };

    let query = Memo::new(move |_| ListQuery {
        q: Some(q.get()).filter(|s| !s.trim().is_empty()),
        site_id: site.get(),
        status: status.get(),
        sort: Some(sort.get()),
        order: Some(if desc.get() { "desc" } else { "asc" }.to_owned()),
        limit: Some(PAGE_SIZE),
        offset: Some(offset.get()),
    });
    let data = LocalResource::new(move || {
        let q = query.get();
        async move { fetch(kind, q).await }
    });
    let total = Signal::derive(move || data.get().and_then(|r| r.ok()).map(|(_, t)| t));
    let site_names = Memo::new(move |_| {
        sites
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect::<HashMap<_, _>>()
    });

    let (title, new_label) = match kind {
        DeviceKind::Camera => (K::NavCameras, K::NewCamera),
        DeviceKind::Recorder => (K::NavRecorders, K::NewRecorder),
        DeviceKind::Switch => (K::NavSwitches, K::NewSwitch),
    };
    let base = kind_path(kind);
    let row_test = format!("{}-row", kind.as_str());

    let header = move |key: &'static str, label: &'static str| {
        let arrow = move || {
            if sort.get() == key {
                if desc.get() {
                    " ▼"
                } else {
                    " ▲"
                }
            } else {
                ""
            }
        };
        view! {
            <th aria-sort=move || if sort.get() == key { if desc.get() { "descending" } else { "ascending" } } else { "none" }>
                <button
                    type="button"
                    class="sort"
                    data-test=format!("sort-{key}")
                    on:click=move |_| {
                        if sort.get_untracked() == key {
                            desc.update(|d| *d = !*d);
                        } else {
                            sort.set(key.to_owned());
                            desc.set(false);
                        }
                        offset.set(0);
                    }
                >
                    {move || field_label(lang.get(), label)}
                    {arrow}
                </button>
            </th>
        }
    };

    view! {
        <div class="page-head">
            <h1>{tr(title)}</h1>
            <Show when=can_write>
                <A href=format!("/{base}/new") attr:class="button primary" attr:data-test="new-device">{tr(new_label)}</A>
            </Show>
        </div>
        <div class="filters">
            <input
                id="search"
                type="search"
                data-test="search"
                placeholder=move || tr(K::Search)()
                aria-label=move || tr(K::Search)()
                prop:value=search_text
                on:input=on_search
                // Clearing the box programmatically fires only `change`.
                on:change=on_search
            />
            <select
                id="filter-site"
                data-test="filter-site"
                on:change=move |ev| {
                    offset.set(0);
                    site.set(Uuid::parse_str(&event_target_value(&ev)).ok());
                }
            >
                <option value="">{tr(K::AllSites)}</option>
                {move || {
                    sites
                        .get()
                        .and_then(Result::ok)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|s| view! { <option value=s.id.to_string() selected=move || site.get() == Some(s.id)>{s.name}</option> })
                        .collect_view()
                }}
            </select>
            <select
                id="filter-status"
                data-test="filter-status"
                on:change=move |ev| {
                    offset.set(0);
                    status.set(DeviceStatus::parse(&event_target_value(&ev)));
                }
            >
                <option value="">{tr(K::AllStatuses)}</option>
                {DeviceStatus::ALL
                    .into_iter()
                    .map(|s| view! { <option value=s.as_str() selected=move || status.get() == Some(s)>{move || s.label(lang.get())}</option> })
                    .collect_view()}
            </select>
        </div>
        {move || data.get().and_then(Result::err).map(|e| view! { <ErrorBanner error=Signal::derive(move || Some(e.clone()))/> })}
        <div class="table-wrap">
            <table class="list" data-test="device-table" class:loading=move || data.get().is_none()>
                <thead>
                    <tr>
                        {header("name", "name")}
                        <th>{move || field_label(lang.get(), "make")}</th>
                        {COLUMNS[1..3].iter().map(|(k, l)| header(k, l)).collect_view()}
                        <th>{move || field_label(lang.get(), "mac")}</th>
                        <th>{move || field_label(lang.get(), "site")}</th>
                        {COLUMNS[3..].iter().map(|(k, l)| header(k, l)).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        let names = site_names.get();
                        let row_test = row_test.clone();
                        match data.get() {
                            None => view! { <tr><td colspan="8">{tr(K::Loading)}</td></tr> }.into_any(),
                            Some(Ok((rows, _))) if rows.is_empty() => view! { <tr><td colspan="8" class="empty" data-test="no-results">{tr(K::NoResults)}</td></tr> }.into_any(),
                            Some(Ok((rows, _))) => rows
                                .into_iter()
                                .map(|r| {
                                    let site_name = names.get(&r.site_id).cloned().unwrap_or_default();
                                    view! {
                                        <tr data-test=row_test.clone() data-id=r.id.to_string()>
                                            <td><A href=format!("/{base}/{}", r.id)>{r.name}</A></td>
                                            <td>{r.make_model}</td>
                                            <td class="mono" data-test="serial">{r.serial}</td>
                                            <td class="mono">{r.ip}</td>
                                            <td class="mono">{r.mac}</td>
                                            <td>{site_name}</td>
                                            <td><span class=format!("status {}", r.status.as_str())>{move || r.status.label(lang.get())}</span></td>
                                            <td>{r.warranty_end}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()
                                .into_any(),
                            Some(Err(_)) => ().into_any(),
                        }
                    }}
                </tbody>
            </table>
        </div>
        <Pager offset limit=PAGE_SIZE total/>
    }
}
