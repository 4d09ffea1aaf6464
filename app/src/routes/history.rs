//! A device's change history: each audit entry as a table of the fields
//! that changed, before and after. A creation shows every field it set, a
//! deletion every field it removed.

use gozcu_shared::api::AuditEntry;
use gozcu_shared::inventory::DeviceKind;
use gozcu_shared::inventory::DeviceStatus;
use gozcu_shared::Lang;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::alert::ErrorBanner;
use crate::i18n::{action_label, field_label, format_ms, t, tr, use_lang, K};
use crate::session::{kind_path, use_sites};

/// Fields whose change says nothing to a person reading the history.
const IGNORED: &[&str] = &["updated_at", "id"];

/// `(field, before, after)` for every field that differs. Fields that are
/// blank on both sides (a creation's `false` and `[]` defaults) are left
/// out: they say nothing.
fn diff(before: Option<&Value>, after: Option<&Value>) -> Vec<(String, Value, Value)> {
    let empty = serde_json::Map::new();
    let b = before.and_then(Value::as_object).unwrap_or(&empty);
    let a = after.and_then(Value::as_object).unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !IGNORED.contains(&k.as_str()))
        .filter_map(|k| {
            let (old, new) = (
                b.get(k).unwrap_or(&Value::Null),
                a.get(k).unwrap_or(&Value::Null),
            );
            (old != new && !(is_blank(old) && is_blank(new)))
                .then(|| (k.clone(), old.clone(), new.clone()))
        })
        .collect()
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// A stored value as a person reads it: site names instead of ids, status
/// and yes/no in the UI language.
fn show(field: &str, v: &Value, lang: Lang, site_names: &HashMap<String, String>) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => t(lang, if *b { K::Yes } else { K::No }).to_owned(),
        Value::String(s) if field == "status" => DeviceStatus::parse(s)
            .map(|st| st.label(lang).to_owned())
            .unwrap_or_else(|| s.clone()),
        Value::String(s) if field == "site_id" => {
            site_names.get(s).cloned().unwrap_or_else(|| s.clone())
        }
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| show(field, i, lang, site_names))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

async fn load(kind: DeviceKind, id: Uuid) -> Result<Vec<AuditEntry>, ApiFailure> {
    match kind {
        DeviceKind::Camera => api::cameras::history(id).await,
        DeviceKind::Recorder => api::recorders::history(id).await,
        DeviceKind::Switch => api::switches::history(id).await,
    }
}

#[component]
pub fn HistoryPage(kind: DeviceKind) -> impl IntoView {
    let lang = use_lang();
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params
            .with(|p| p.get("id"))
            .and_then(|s| Uuid::parse_str(&s).ok())
            .unwrap_or_default()
    });
    let entries = LocalResource::new(move || load(kind, id.get()));
    let sites = use_sites();
    let site_names = Memo::new(move |_| {
        sites
            .get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.id.to_string(), s.name))
            .collect::<HashMap<_, _>>()
    });
    let base = kind_path(kind);
    view! {
        <div class="page-head">
            <h1>{tr(K::History)}</h1>
            <A href=move || format!("/{base}/{}", id.get()) attr:class="button">{tr(K::Back)}</A>
        </div>
        {move || match entries.get() {
            None => view! { <p>{tr(K::Loading)}</p> }.into_any(),
            Some(Err(e)) => view! { <ErrorBanner error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! { <p class="empty">{tr(K::NoHistory)}</p> }.into_any(),
            Some(Ok(list)) => list
                .into_iter()
                .map(|e| {
                    let rows = diff(e.before.as_ref(), e.after.as_ref());
                    let data_action = e.action.clone();
                    view! {
                        <section class="card history-entry" data-test="history-entry" data-action=data_action>
                            <p class="meta">
                                <strong>{let action = e.action.clone(); move || action_label(lang.get(), &action)}</strong>
                                " · "
                                {move || format_ms(e.at, lang.get())}
                                " · "
                                {e.actor_name}
                            </p>
                            {(!rows.is_empty()).then(|| view! {
                                <table class="diff">
                                    <thead>
                                        <tr>
                                            <th>{tr(K::Field)}</th>
                                            <th>{tr(K::Before)}</th>
                                            <th>{tr(K::After)}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {rows
                                            .into_iter()
                                            .map(|(field, old, new)| {
                                                let data_field = field.clone();
                                                view! {
                                                    <tr data-test="diff-row" data-field=data_field.clone()>
                                                        <td>{move || field_label(lang.get(), &field)}</td>
                                                        <td class="old">{let f = data_field.clone(); move || site_names.with(|n| show(&f, &old, lang.get(), n))}</td>
                                                        <td class="new">{let f = data_field.clone(); move || site_names.with(|n| show(&f, &new, lang.get(), n))}</td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            })}
                        </section>
                    }
                })
                .collect_view()
                .into_any(),
        }}
    }
}
