//! Camera, recorder and switch lists, computed in wasm over the offline
//! replica: search, filters, sort and pages work the same with or without a
//! network. The rows of a kind are built once per replica change (with the
//! folded search text the server's search uses), and each query only
//! filters, sorts and slices them, so a 10,000-camera inventory answers a
//! keystroke in milliseconds. Typing in the search box still waits 250 ms
//! of quiet, so a fast typist does not re-filter on every letter.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::rc::Rc;

use gozcu_shared::inventory::{DeviceKind, DeviceStatus};
use gozcu_shared::sync::{EntityKind, RecordState};
use gozcu_shared::validate::search_fold;
use gozcu_shared::Permission;
use leptos::prelude::*;
use leptos_router::components::A;
use uuid::Uuid;

use crate::components::pager::Pager;
use crate::i18n::{field_label, tr, use_lang, K};
use crate::session::{can, kind_path};
use crate::sync::{self, track, use_sync};

const PAGE_SIZE: u32 = 100;
const DEBOUNCE_MS: u64 = 250;

/// What a list row shows, whatever the device kind.
#[derive(Clone, PartialEq)]
struct Row {
    id: Uuid,
    name: String,
    make_model: String,
    serial: String,
    ip: String,
    mac: String,
    status: DeviceStatus,
    site_id: Option<Uuid>,
    warranty_end: String,
    unsent: bool,
    /// Folded like the server's search column.
    search: String,
}

fn text(s: &RecordState, field: &str) -> String {
    match s.get(field) {
        Some(serde_json::Value::String(v)) => v.clone(),
        _ => String::new(),
    }
}

fn row(id: Uuid, s: &RecordState, unsent: bool) -> Row {
    let name = text(s, "name");
    let make = text(s, "make");
    let model = text(s, "model");
    let serial = text(s, "serial");
    let ip = text(s, "ip");
    let mac = text(s, "mac");
    let tags = match s.get("tags") {
        Some(serde_json::Value::Array(t)) => t
            .iter()
            .filter_map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    let search = search_fold(
        &[
            name.as_str(),
            &make,
            &model,
            &serial,
            &ip,
            &mac,
            &text(s, "asset_number"),
            &tags,
        ]
        .join(" "),
    );
    Row {
        id,
        make_model: if model.is_empty() {
            make
        } else {
            format!("{make} {model}")
        },
        name,
        serial,
        ip,
        mac,
        status: DeviceStatus::parse(&text(s, "status")).unwrap_or_default(),
        site_id: Uuid::parse_str(&text(s, "site_id")).ok(),
        warranty_end: text(s, "warranty_end"),
        unsent,
        search,
    }
}

fn all_rows(kind: DeviceKind) -> Vec<Row> {
    let mut out = Vec::new();
    sync::for_each_entity(EntityKind::from(kind), |id, s, unsent| {
        out.push(row(id, s, unsent))
    });
    out
}

/// The list's query, as the server's list endpoint took it.
#[derive(Clone, PartialEq)]
struct Query {
    q: String,
    site: Option<Uuid>,
    status: Option<DeviceStatus>,
    sort: String,
    desc: bool,
    offset: u32,
}

/// One page of rows and the number of matches.
fn page(rows: &[Row], q: &Query) -> (Vec<Row>, u64) {
    let words: Vec<String> = search_fold(&q.q)
        .split_whitespace()
        .take(8)
        .map(str::to_owned)
        .collect();
    let mut hits: Vec<&Row> = rows
        .iter()
        .filter(|r| q.site.is_none() || r.site_id == q.site)
        .filter(|r| q.status.is_none_or(|s| r.status == s))
        .filter(|r| words.iter().all(|w| r.search.contains(w.as_str())))
        .collect();
    let cmp = |a: &&Row, b: &&Row| -> Ordering {
        let o = match q.sort.as_str() {
            "serial" => a.serial.cmp(&b.serial),
            "ip" => a.ip.cmp(&b.ip),
            "status" => a.status.as_str().cmp(b.status.as_str()),
            "warranty_end" => a.warranty_end.cmp(&b.warranty_end),
            _ => a.name.cmp(&b.name),
        };
        o.then_with(|| a.id.cmp(&b.id))
    };
    hits.sort_by(cmp);
    if q.desc {
        hits.reverse();
    }
    let total = hits.len() as u64;
    let page = hits
        .into_iter()
        .skip(q.offset as usize)
        .take(PAGE_SIZE as usize)
        .cloned()
        .collect();
    (page, total)
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
    let sync_signals = use_sync();
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

    let query = Memo::new(move |_| Query {
        q: q.get(),
        site: site.get(),
        status: status.get(),
        sort: sort.get(),
        desc: desc.get(),
        offset: offset.get(),
    });
    // The rows of this kind, rebuilt only when the replica changes; not a
    // memo, because comparing 10,000 rows to decide whether they changed
    // would cost as much as building them.
    let cache = StoredValue::new_local(None::<(u64, Rc<Vec<Row>>)>);
    let rows_now = move || -> Option<Rc<Vec<Row>>> {
        if !track() {
            return None;
        }
        let version = sync_signals.version.get_untracked();
        if let Some((v, rows)) = cache.get_value() {
            if v == version {
                return Some(rows);
            }
        }
        let rows = Rc::new(all_rows(kind));
        cache.set_value(Some((version, rows.clone())));
        Some(rows)
    };
    let data = Memo::new(move |_| {
        let q = query.get();
        rows_now().map(|rows| page(&rows, &q))
    });
    let total = Signal::derive(move || data.with(|d| d.as_ref().map(|(_, t)| *t)));
    let sites = Memo::new(move |_| {
        track();
        let mut out = Vec::new();
        sync::for_each_entity(EntityKind::Site, |id, s, _| out.push((id, text(s, "name"))));
        out.sort_by(|a, b| a.1.cmp(&b.1));
        out
    });
    let site_names = Memo::new(move |_| sites.get().into_iter().collect::<HashMap<_, _>>());

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
                        .into_iter()
                        .map(|(id, name)| view! { <option value=id.to_string() selected=move || site.get() == Some(id)>{name}</option> })
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
        {move || (!sync_signals.status.with(|s| s.online) && data.with(Option::is_some)).then(|| view! { <p class="hint offline-note" data-test="offline-data">{tr(K::OfflineData)}</p> })}
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
                            Some((rows, _)) if rows.is_empty() => view! { <tr><td colspan="8" class="empty" data-test="no-results">{tr(K::NoResults)}</td></tr> }.into_any(),
                            Some((rows, _)) => rows
                                .into_iter()
                                .map(|r| {
                                    let site_name = r.site_id.and_then(|id| names.get(&id).cloned()).unwrap_or_default();
                                    view! {
                                        <tr data-test=row_test.clone() data-id=r.id.to_string() class:unsent=r.unsent>
                                            <td>
                                                <A href=format!("/{base}/{}", r.id)>{r.name}</A>
                                                {r.unsent.then(|| view! { <span class="unsent" data-test="unsent" title=move || tr(K::NotSent)()>{tr(K::NotSent)}</span> })}
                                            </td>
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
                        }
                    }}
                </tbody>
            </table>
        </div>
        <Pager offset limit=PAGE_SIZE total/>
    }
}
