//! Checklist runs: the list and "start" on a device's page, and `/runs/:id`
//! where a technician answers, completes and (once back online) prints.
//!
//! Everything reads and writes the offline replica: a run is a record of
//! its own and every answer is a record of its own (see `crate::sync`), so
//! a run is done in a basement with no signal and each answer is in the
//! outbox the moment it is given. Visibility, answer checks and completion
//! use the same shared rules as the server, so "complete" here means the
//! server will accept it.

use std::collections::BTreeMap;

use gozcu_shared::checklists::{
    check_answer, check_completion, is_blank, visible_items, AmendRequest, Item, ItemKind,
    PassFail, PhotoRef, Run, RunStatus, Signature, TargetKind, Template,
};
use gozcu_shared::sync::{EntityKind, EntityRef};
use gozcu_shared::{Lang, Permission};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::NavigateOptions;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::api;
use crate::components::signature::SignaturePad;
use crate::i18n::{format_ms, t, tr, use_lang, K};
use crate::photos::PhotoInput;
use crate::session::can;
use crate::sync::{self, track, ChangeError};

fn run_entity(id: Uuid) -> EntityRef {
    EntityRef {
        kind: EntityKind::ChecklistRun,
        id,
    }
}

fn status_label(status: RunStatus) -> K {
    match status {
        RunStatus::InProgress => K::RunInProgress,
        RunStatus::Completed => K::RunCompleted,
    }
}

/// The runs of one device or site, and starting a new one.
#[component]
pub fn RunsPanel(target_kind: TargetKind, target_id: Uuid) -> impl IntoView {
    let lang = use_lang();
    let can_run = can(Permission::ChecklistsRun);
    let chosen = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let navigate = use_navigate();
    let runs = move || {
        track();
        sync::runs_for(target_id)
    };
    let templates = move || {
        track();
        sync::latest_templates(lang.get())
            .into_iter()
            .filter(|t| t.applies_to(target_kind))
            .collect::<Vec<_>>()
    };
    let start = move |_| {
        let Some(template) = templates()
            .into_iter()
            .find(|t| t.id.to_string() == chosen.get_untracked())
        else {
            error.set(Some(t(lang.get_untracked(), K::ChooseTemplate).to_owned()));
            return;
        };
        let navigate = navigate.clone();
        spawn_local(async move {
            match start_run(&template, target_kind, target_id).await {
                Ok(id) => navigate(&format!("/runs/{id}"), NavigateOptions::default()),
                Err(e) => error.set(Some(change_error(&e, lang.get_untracked()))),
            }
        });
    };
    view! {
        <section class="card runs" data-test="runs">
            <h2>{tr(K::Checklists)}</h2>
            {move || {
                let runs = runs();
                if runs.is_empty() {
                    return view! { <p class="empty">{tr(K::NoRuns)}</p> }.into_any();
                }
                let lang = lang.get();
                view! {
                    <ul class="run-list">
                        {runs.into_iter().map(|(run, unsent)| {
                            let title = sync::template(run.template_id, run.template_version)
                                .map(|t| t.title.get(lang).to_owned())
                                .unwrap_or_default();
                            view! {
                                <li data-test="run-row" data-id=run.id.to_string() data-status=run.status.as_str()>
                                    <A href=format!("/runs/{}", run.id)>{title}</A>
                                    " · " {t(lang, status_label(run.status))}
                                    " · " {format_ms(run.started_at_ms, lang)}
                                    {unsent.then(|| view! { <span class="unsent" data-test="unsent">{t(lang, K::NotSent)}</span> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <Show when=can_run>
                <div class="row">
                    <select data-test="template-select" aria-label=tr(K::ChooseTemplate)
                        on:change=move |ev| chosen.set(event_target_value(&ev))>
                        <option value="">{tr(K::ChooseTemplate)}</option>
                        {move || templates().into_iter().map(|t| {
                            let title = t.title.get(lang.get()).to_owned();
                            view! { <option value=t.id.to_string()>{title}</option> }
                        }).collect_view()}
                    </select>
                    <button type="button" data-test="start-run" on:click=start.clone()>{tr(K::StartChecklist)}</button>
                </div>
            </Show>
            {move || error.get().map(|e| view! { <p class="alert error" role="alert" data-test="error">{e}</p> })}
        </section>
    }
}

/// Starts a run of the template's given version on a device or site, in
/// the replica and the outbox (so offline too), and returns its id. The
/// runs panel and the maintenance due list start runs this way.
pub async fn start_run(
    template: &Template,
    target_kind: TargetKind,
    target_id: Uuid,
) -> Result<Uuid, ChangeError> {
    let id = sync::new_id();
    let started = sync::now_ms();
    // Where the work was done, when the tablet knows; never waited for long
    // (the helper gives up quickly in a basement).
    let gps = crate::photos::gps::current().await;
    let form = json!({
        "template_id": template.id,
        "template_version": template.version,
        "target_kind": target_kind,
        "target_id": target_id,
        "status": RunStatus::InProgress,
        "started_at_ms": started,
        "gps": gps,
    });
    sync::save_entity(run_entity(id), &form).await.map(|_| id)
}

pub fn change_error(e: &ChangeError, lang: Lang) -> String {
    match e {
        ChangeError::NotReady => t(lang, K::Loading).to_owned(),
        ChangeError::Store(s) => format!("{}: {s}", t(lang, K::StoreError)),
    }
}

/// `/runs/:id`.
#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|s| Uuid::parse_str(&s).ok()));
    let lang = use_lang();
    // Memos, so that the page is built again only when the run itself
    // changes, not on every change of the replica (an answer being typed
    // would lose its focus).
    let ready = Memo::new(move |_| track());
    let found = Memo::new(move |_| {
        track();
        let (run, unsent) = sync::entity::<Run>(EntityKind::ChecklistRun, id()?)?;
        let template = sync::template(run.template_id, run.template_version)?;
        Some((run, unsent, template))
    });
    move || {
        if id().is_none() {
            return view! { <p class="empty">{tr(K::NotFoundPage)}</p> }.into_any();
        }
        if !ready.get() {
            return view! { <p>{tr(K::Loading)}</p> }.into_any();
        }
        match found.get() {
            Some((run, unsent, template)) => view! { <RunView run unsent template/> }.into_any(),
            None => view! {
                <p class="alert error" data-test="error" data-code="not_found">{move || t(lang.get(), K::RunNotFound)}</p>
            }
            .into_any(),
        }
    }
}

#[component]
fn RunView(run: Run, unsent: bool, template: Template) -> impl IntoView {
    let lang = use_lang();
    let can_run = can(Permission::ChecklistsRun);
    let locked = run.status == RunStatus::Completed;
    let run_id = run.id;
    let problems = RwSignal::new(Vec::<(String, String)>::new());
    let error = RwSignal::new(None::<String>);
    let template = StoredValue::new(template);
    // A completed run is corrected online, all changes at once with one
    // reason; until saved they live only here.
    let amending = RwSignal::new(false);
    let changes = RwSignal::new(BTreeMap::<Uuid, Value>::new());
    let reason = RwSignal::new(String::new());
    let stored = Memo::new(move |_| {
        track();
        sync::answers(run_id)
    });
    let answers = Memo::new(move |_| {
        let mut given = stored.get();
        if amending.get() {
            given.extend(changes.get());
        }
        given
    });
    let visible =
        Memo::new(move |_| template.with_value(|t| answers.with(|a| visible_items(t, a))));
    let disabled = Signal::derive(move || (locked && !amending.get()) || !can_run());
    let save_amendment = move |_| {
        let lang = lang.get_untracked();
        let req = AmendRequest {
            changes: changes.get_untracked(),
            reason: reason.get_untracked(),
        };
        spawn_local(async move {
            match api::checklists::amend(run_id, &req).await {
                Ok(_) => {
                    amending.set(false);
                    changes.set(BTreeMap::new());
                    reason.set(String::new());
                    error.set(None);
                    sync::engine::sync_now();
                }
                Err(e) => error.set(Some(e.message(lang))),
            }
        });
    };
    let complete = move |_| {
        let lang = lang.get_untracked();
        let template = template.get_value();
        let given = sync::answers(run_id);
        if let Err(fields) = check_completion(&template, &given) {
            problems.set(
                fields
                    .iter()
                    .map(|f| {
                        let label = Uuid::parse_str(&f.field)
                            .ok()
                            .and_then(|i| template.item(i))
                            .map_or(f.field.clone(), |i| i.label.get(lang).to_owned());
                        (label, f.code.message(lang).to_owned())
                    })
                    .collect(),
            );
            return;
        }
        problems.set(Vec::new());
        let form = json!({"status": RunStatus::Completed, "completed_at_ms": sync::now_ms()});
        spawn_local(async move {
            if let Err(e) = sync::save_entity(run_entity(run_id), &form).await {
                error.set(Some(change_error(&e, lang)));
            }
        });
    };
    let title = move || template.with_value(|t| t.title.get(lang.get()).to_owned());
    let started = move || {
        format!(
            "{}: {} · {}",
            t(lang.get(), K::StartedBy),
            run.started_by.clone().unwrap_or_default(),
            format_ms(run.started_at_ms, lang.get())
        )
    };
    let completed = run.completed_at_ms.map(|at| {
        let by = run.completed_by.clone().unwrap_or_default();
        move || {
            format!(
                "{}: {by} · {}",
                t(lang.get(), K::CompletedBy),
                format_ms(at, lang.get())
            )
        }
    });
    let target = target_link(run.target_kind, run.target_id);
    let sections = template.with_value(|tpl| tpl.sections.clone());
    view! {
        <div class="page-head">
            <h1 data-test="run-title">{title}</h1>
            <span data-test="run-status" data-status=run.status.as_str()>{move || t(lang.get(), status_label(run.status))}</span>
            {unsent.then(|| view! { <span class="unsent" data-test="unsent">{tr(K::NotSent)}</span> })}
        </div>
        <p class="meta">{target} " · " {started} {completed.map(|c| view! { " · " {c} })}</p>
        {locked.then(|| view! {
            <p class="note" data-test="run-locked">{tr(K::RunLockedNote)}</p>
            {(!unsent).then(|| view! {
                <p><a class="button" data-test="run-pdf" href=format!("/api/v1/checklists/runs/{run_id}/report.pdf") download>{tr(K::DownloadPdf)}</a>
                " " <span class="hint">{tr(K::PdfNeedsNetwork)}</span></p>
            })}
        })}
        {sections.into_iter().map(|section| {
            let ids: Vec<Uuid> = section.items.iter().map(|i| i.id).collect();
            let any_visible = move || visible.with(|v| ids.iter().any(|i| v.contains(i)));
            let heading = section.title.clone();
            view! {
                <section class="card run-section" data-test="run-section"
                    style:display=move || if any_visible() { "" } else { "none" }>
                        <h2>{move || heading.get(lang.get()).to_owned()}</h2>
                        {section.items.iter().cloned().map(|item| {
                            let id = item.id;
                            let value = Memo::new(move |_| answers.with(|a| a.get(&id).cloned().unwrap_or(Value::Null)));
                            view! {
                                <Show when=move || visible.with(|v| v.contains(&id))>
                                    <ItemField run_id item=item.clone() value disabled amending changes/>
                                </Show>
                            }
                        }).collect_view()}
                </section>
            }
        }).collect_view()}
        {move || (!problems.get().is_empty()).then(|| view! {
            <div class="alert error" role="alert" data-test="run-problems">
                <p>{tr(K::RunMissing)}</p>
                <ul>{problems.get().into_iter().map(|(label, why)| view! { <li>{label} ": " {why}</li> }).collect_view()}</ul>
            </div>
        })}
        {move || error.get().map(|e| view! { <p class="alert error" role="alert" data-test="error">{e}</p> })}
        {locked.then(|| view! {
            <Show when=can_run>
                <Show when=move || amending.get() fallback=move || view! {
                    <button type="button" data-test="start-amend" on:click=move |_| amending.set(true)>{tr(K::StartAmend)}</button>
                }>
                    <section class="card amend" data-test="amend">
                        <h2>{tr(K::Amendments)}</h2>
                        <label>{tr(K::AmendReason)}
                            <input type="text" data-test="amend-reason" prop:value=move || reason.get()
                                on:input=move |ev| reason.set(event_target_value(&ev))/>
                        </label>
                        <button type="button" class="primary" data-test="amend-save" on:click=save_amendment>{tr(K::Amend)}</button>
                    </section>
                </Show>
            </Show>
        })}
        {(!locked).then(|| view! {
            <Show when=can_run>
                <button type="button" class="primary" data-test="complete-run" on:click=complete>{tr(K::CompleteRun)}</button>
            </Show>
        })}
    }
}

fn target_link(kind: TargetKind, id: Uuid) -> impl IntoView {
    let (base, entity) = match kind {
        TargetKind::Camera => ("cameras", EntityKind::Camera),
        TargetKind::Recorder => ("recorders", EntityKind::Recorder),
        TargetKind::Switch => ("switches", EntityKind::Switch),
        TargetKind::Site => ("sites", EntityKind::Site),
    };
    let name = sync::entity::<Value>(entity, id)
        .and_then(|(v, _)| v.get("name").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| id.to_string());
    let href = match kind {
        TargetKind::Site => "/sites".to_owned(),
        _ => format!("/{base}/{id}"),
    };
    view! { <A href=href attr:data-test="run-target">{name}</A> }
}

/// One item's input. Each answer is checked with the shared rules and
/// saved at once (or, while amending a completed run, collected); a wrong
/// one is shown and not saved. Only this item is drawn again when its
/// answer changes.
#[component]
fn ItemField(
    run_id: Uuid,
    item: Item,
    value: Memo<Value>,
    disabled: Signal<bool>,
    amending: RwSignal<bool>,
    changes: RwSignal<BTreeMap<Uuid, Value>>,
) -> impl IntoView {
    let lang = use_lang();
    let error = RwSignal::new(None::<String>);
    let item = StoredValue::new(item);
    let save = move |raw: Value| {
        let lang = lang.get_untracked();
        let checked = if is_blank(&raw) {
            Ok(Value::Null)
        } else {
            item.with_value(|i| check_answer(i, &raw))
        };
        match checked {
            Ok(v) => {
                error.set(None);
                let item_id = item.with_value(|i| i.id);
                if amending.get_untracked() {
                    changes.update(|c| {
                        c.insert(item_id, v);
                    });
                    return;
                }
                spawn_local(async move {
                    if let Err(e) = sync::save_answer(run_id, item_id, v).await {
                        error.set(Some(change_error(&e, lang)));
                    }
                });
            }
            Err(code) => error.set(Some(code.message(lang).to_owned())),
        }
    };
    let (id, required, kind) = item.with_value(|i| (i.id, i.required, i.kind.clone()));
    let label = move || item.with_value(|i| i.label.get(lang.get()).to_owned());
    let help = move || item.with_value(|i| i.help.as_ref().map(|h| h.get(lang.get()).to_owned()));
    let kind_name = kind.as_str();
    view! {
        <div class="item" data-test="item" data-item=id.to_string() data-kind=kind_name>
            <label class="item-label">
                {label}
                {required.then(|| view! { <span class="required" title=tr(K::Required)>" *"</span> })}
            </label>
            {move || help().map(|h| view! { <p class="hint">{h}</p> })}
            {move || answer_input(id, kind.clone(), value.get(), disabled.get(), save)}
            {move || error.get().map(|e| view! { <p class="field-error" data-test="item-error">{e}</p> })}
        </div>
    }
}

/// Buttons for a closed set of answers (yes/no, pass/fail/na).
fn choice_buttons(
    options: Vec<(Value, K)>,
    value: Value,
    disabled: bool,
    save: impl Fn(Value) + Copy + 'static,
) -> AnyView {
    view! {
        <div class="choices" role="group">
            {options.into_iter().map(|(v, k)| {
                let pressed = v == value;
                let code = match &v { Value::Bool(b) => b.to_string(), other => other.as_str().unwrap_or_default().to_owned() };
                view! {
                    <button type="button" class:selected=pressed aria-pressed=pressed.to_string()
                        data-value=code disabled=disabled on:click=move |_| save(v.clone())>
                        {tr(k)}
                    </button>
                }
            }).collect_view()}
        </div>
    }
    .into_any()
}

fn answer_input(
    id: Uuid,
    kind: ItemKind,
    value: Value,
    disabled: bool,
    save: impl Fn(Value) + Copy + Send + Sync + 'static,
) -> AnyView {
    let name = id.to_string();
    let text_of = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    match kind {
        ItemKind::YesNo => choice_buttons(
            vec![(json!(true), K::Yes), (json!(false), K::No)],
            value,
            disabled,
            save,
        ),
        ItemKind::PassFail => choice_buttons(
            [
                (PassFail::Pass, K::Pass),
                (PassFail::Fail, K::Fail),
                (PassFail::Na, K::NotApplicable),
            ]
            .into_iter()
            .map(|(p, k)| (serde_json::to_value(p).unwrap_or_default(), k))
            .collect(),
            value,
            disabled,
            save,
        ),
        ItemKind::Number { unit, .. } => view! {
            <div class="row">
                <input type="number" step="any" name=name prop:value=text_of(&value) disabled=disabled
                    on:change=move |ev| {
                        let raw = event_target_value(&ev);
                        save(match raw.trim().parse::<f64>() {
                            Ok(n) => json!(n),
                            Err(_) if raw.trim().is_empty() => Value::Null,
                            Err(_) => Value::String(raw),
                        })
                    }/>
                <span class="unit">{unit}</span>
            </div>
        }
        .into_any(),
        ItemKind::Text { multiline: true, .. } => view! {
            <textarea name=name prop:value=text_of(&value) disabled=disabled
                on:change=move |ev| save(Value::String(event_target_value(&ev)))></textarea>
        }
        .into_any(),
        ItemKind::Text { .. } => view! {
            <input type="text" name=name prop:value=text_of(&value) disabled=disabled
                on:change=move |ev| save(Value::String(event_target_value(&ev)))/>
        }
        .into_any(),
        ItemKind::Date => view! {
            <input type="date" name=name prop:value=text_of(&value) disabled=disabled
                on:change=move |ev| save(Value::String(event_target_value(&ev)))/>
        }
        .into_any(),
        ItemKind::SingleChoice { options } => {
            let current = text_of(&value);
            view! {
                <select name=name disabled=disabled on:change=move |ev| save(Value::String(event_target_value(&ev)))>
                    <option value="">"—"</option>
                    {options.into_iter().map(|o| {
                        let selected = o.key == current;
                        view! { <option value=o.key.clone() selected=selected>{move || o.label.get(use_lang().get()).to_owned()}</option> }
                    }).collect_view()}
                </select>
            }
            .into_any()
        }
        ItemKind::MultiChoice { options } => {
            let chosen: Vec<String> = value
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            let chosen = StoredValue::new(chosen);
            view! {
                <div class="choices">
                    {options.into_iter().map(|o| {
                        let key = o.key.clone();
                        let checked = chosen.with_value(|c| c.contains(&key));
                        view! {
                            <label class="check">
                                <input type="checkbox" value=key.clone() checked=checked disabled=disabled
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update_value(|c| {
                                            c.retain(|k| *k != key);
                                            if on { c.push(key.clone()); }
                                        });
                                        save(json!(chosen.get_value()));
                                    }/>
                                {move || o.label.get(use_lang().get()).to_owned()}
                            </label>
                        }
                    }).collect_view()}
                </div>
            }
            .into_any()
        }
        ItemKind::Photo { .. } | ItemKind::Signature => media_input(kind, value, disabled, save),
    }
}

/// Photos (taken with the tablet's camera, kept in IndexedDB and uploaded
/// later) and signatures (drawn, stored as a PNG photo); the answer holds
/// their hashes.
fn media_input(
    kind: ItemKind,
    value: Value,
    disabled: bool,
    save: impl Fn(Value) + Copy + Send + Sync + 'static,
) -> AnyView {
    match kind {
        ItemKind::Photo { min, max } => {
            let list: Vec<PhotoRef> = serde_json::from_value(value).unwrap_or_default();
            let photos = RwSignal::new(list);
            let on_change = Callback::new(move |list: Vec<PhotoRef>| {
                save(serde_json::to_value(list).unwrap_or(Value::Null))
            });
            view! { <PhotoInput photos on_change min max disabled=Signal::from(disabled)/> }
                .into_any()
        }
        _ => {
            let current: Option<Signature> = serde_json::from_value(value).ok();
            let signature = RwSignal::new(current);
            let on_change = Callback::new(move |s: Option<Signature>| {
                save(serde_json::to_value(s).unwrap_or(Value::Null))
            });
            view! { <SignaturePad signature on_change disabled=Signal::from(disabled)/> }.into_any()
        }
    }
}
