//! The sync page: changes the server rejected (with the reason, until
//! dismissed) and conflicts to resolve. A conflict is two values of one
//! field written without either writer seeing the other (or a delete
//! against an edit); the merge already picked a winner everywhere, and
//! resolving pushes a write that supersedes both, so the conflict closes on
//! every device after its next sync.

use gozcu_shared::sync::{Contender, EntityKind, Hlc, MutationKind, RecordKey, RejectReason};
use gozcu_shared::Lang;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use crate::i18n::{field_label, format_ms, t, tr, use_lang, K};
use crate::store::Rejected;
use crate::sync::{self, track, use_sync, ShownConflict};

fn show_value(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) if s.is_empty() => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Who and when: the writing device (this one, or a short id) and the
/// HLC's wall time.
fn who_when(hlc: &Hlc, lang: Lang) -> String {
    let device = if Some(hlc.node) == sync::client_id() {
        t(lang, K::ThisDevice).to_owned()
    } else {
        let id = hlc.node.simple().to_string();
        format!("{} {}", t(lang, K::OtherDevice), &id[id.len() - 6..])
    };
    format!("{device}, {}", format_ms(hlc.wall_ms, lang))
}

fn kind_label(kind: EntityKind, lang: Lang) -> String {
    match kind {
        EntityKind::Camera => t(lang, K::Camera).to_owned(),
        EntityKind::Recorder => t(lang, K::Recorder).to_owned(),
        EntityKind::Switch => t(lang, K::Switch).to_owned(),
        EntityKind::Site => field_label(lang, "site_id"),
        EntityKind::Building => field_label(lang, "building_id"),
        EntityKind::Location => field_label(lang, "location_id"),
        EntityKind::ChecklistTemplate => t(lang, K::ChecklistTemplate).to_owned(),
        EntityKind::ChecklistRun => t(lang, K::ChecklistRun).to_owned(),
        EntityKind::Fault => t(lang, K::Fault).to_owned(),
        EntityKind::FaultEvent => t(lang, K::FaultNote).to_owned(),
    }
}

fn reason_text(reason: &RejectReason, lang: Lang) -> String {
    match reason {
        RejectReason::Refused { code, fields, .. } => {
            let mut out = code.message(lang).to_owned();
            for f in fields {
                out.push_str(&format!(
                    " {}: {}",
                    field_label(lang, &f.field),
                    f.code.message(lang)
                ));
            }
            out
        }
        _ => t(lang, K::MalformedChange).to_owned(),
    }
}

#[component]
pub fn SyncPage() -> impl IntoView {
    let sync_signals = use_sync();
    let conflicts = Memo::new(move |_| {
        track();
        sync::conflicts()
    });
    let rejections = Memo::new(move |_| {
        track();
        sync::rejections()
    });
    view! {
        <div class="page-head">
            <h1>{tr(K::SyncTitle)}</h1>
        </div>
        {move || sync_signals.status.get().failure.map(|e| view! {
            <crate::components::alert::ErrorBanner error=Signal::derive(move || Some(e.clone()))/>
        })}
        <section class="card">
            <h2>{tr(K::RejectedTitle)}</h2>
            {move || {
                let list = rejections.get();
                if list.is_empty() {
                    view! { <p class="empty" data-test="no-rejected">{tr(K::NoRejected)}</p> }.into_any()
                } else {
                    view! { <ul class="sync-list">{list.into_iter().map(|r| view! { <RejectedRow r/> }).collect_view()}</ul> }.into_any()
                }
            }}
        </section>
        <section class="card">
            <h2>{tr(K::ConflictsTitle)}</h2>
            <p class="hint">{tr(K::ConflictsHelp)}</p>
            {move || {
                let list = conflicts.get();
                if list.is_empty() {
                    view! { <p class="empty" data-test="no-conflicts">{tr(K::NoConflicts)}</p> }.into_any()
                } else {
                    view! { <ul class="sync-list">{list.into_iter().map(|c| view! { <ConflictRow c/> }).collect_view()}</ul> }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn RejectedRow(r: Rejected) -> impl IntoView {
    let lang = use_lang();
    let id = r.mutation.mutation_id;
    let (kind, is_delete) = match &r.mutation.kind {
        MutationKind::Upsert { entity, .. } => (Some(entity.kind), false),
        MutationKind::Delete { entity, .. } => (Some(entity.kind), true),
        MutationKind::ChecklistAnswer { .. } => (None, false),
    };
    let name = r.name.clone().unwrap_or_default();
    let reason = r.reason.clone();
    let fields: Vec<String> = match &r.mutation.kind {
        MutationKind::Upsert { fields, .. } => fields.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let code = match &r.reason {
        RejectReason::Refused { code, .. } => code.as_str(),
        _ => "malformed",
    };
    view! {
        <li class="sync-item" data-test="rejected" data-code=code>
            <div>
                <strong>{move || kind.map(|k| kind_label(k, lang.get())).unwrap_or_default()}" "{name.clone()}</strong>
                " — "{move || t(lang.get(), if is_delete { K::ChangeDelete } else { K::ChangeUpsert })}
                {move || (!fields.is_empty()).then(|| format!(" ({})", fields.iter().map(|f| field_label(lang.get(), f)).collect::<Vec<_>>().join(", ")))}
            </div>
            <div class="reason" data-test="rejected-reason">{move || reason_text(&reason, lang.get())}</div>
            <div class="meta">{move || format_ms(r.at_ms, lang.get())}</div>
            <button type="button" data-test="dismiss" on:click=move |_| {
                spawn_local(async move {
                    let _ = sync::dismiss(id).await;
                });
            }>{tr(K::Dismiss)}</button>
        </li>
    }
}

#[component]
fn ConflictRow(c: ShownConflict) -> impl IntoView {
    let lang = use_lang();
    let ShownConflict { conflict, name } = c;
    let RecordKey::Entity(entity) = conflict.key else {
        return ().into_any();
    };
    let field = conflict.field.clone();
    let field_name = field.clone().unwrap_or_default();
    let field_attr = field_name.clone();
    let side = move |who: &Contender| match who {
        Contender::Write { value, hlc } => (show_value(value), Some(value.clone()), *hlc),
        Contender::Delete { hlc } => (String::new(), None, *hlc),
    };
    let (winner_text, winner_value, winner_hlc) = side(&conflict.winner);
    let (loser_text, loser_value, loser_hlc) = side(&conflict.loser);
    let busy = RwSignal::new(false);
    // Keeping a written value resolves the field on it; keeping a delete
    // (or accepting one) deletes the record knowingly; keeping the record
    // against a delete writes its fields again.
    let choose = move |value: Option<Value>| {
        let field = field.clone();
        busy.set(true);
        spawn_local(async move {
            let _ = match (value, field) {
                (Some(v), Some(f)) => sync::resolve(entity, f, v).await,
                (Some(_), None) => sync::keep_record(entity).await,
                (None, _) => sync::delete_entity(entity).await,
            };
            busy.set(false);
        });
    };
    let choose_winner = choose.clone();
    let choose_loser = choose;
    let winner_is_delete = winner_value.is_none();
    let loser_is_delete = loser_value.is_none();
    let value_cell = move |text: String, is_delete: bool| {
        move || {
            if is_delete {
                t(lang.get(), K::DeletedValue).to_owned()
            } else {
                text.clone()
            }
        }
    };
    view! {
        <li class="sync-item conflict" data-test="conflict" data-field=field_attr data-id=entity.id.to_string()>
            <div>
                <strong>{move || kind_label(entity.kind, lang.get())}" "{name.clone()}</strong>
                " — "
                {move || if field_name.is_empty() { t(lang.get(), K::WholeRecord).to_owned() } else { field_label(lang.get(), &field_name) }}
                {conflict.identity.then_some(" ⚠")}
            </div>
            <div class="sides">
                <div class="side winner" data-test="conflict-winner">
                    <span class="label">{tr(K::Current)}": "</span>
                    <span class="value mono">{value_cell(winner_text, winner_is_delete)}</span>
                    <span class="meta">" ("{move || who_when(&winner_hlc, lang.get())}")"</span>
                    <button type="button" data-test="keep-winner" disabled=busy on:click=move |_| choose_winner(winner_value.clone())>
                        {move || t(lang.get(), if winner_is_delete { K::AcceptDelete } else if loser_is_delete { K::KeepRecord } else { K::KeepThis })}
                    </button>
                </div>
                <div class="side loser" data-test="conflict-loser">
                    <span class="label">{tr(K::Other)}": "</span>
                    <span class="value mono">{value_cell(loser_text, loser_is_delete)}</span>
                    <span class="meta">" ("{move || who_when(&loser_hlc, lang.get())}")"</span>
                    <button type="button" data-test="keep-loser" disabled=busy on:click=move |_| choose_loser(loser_value.clone())>
                        {move || t(lang.get(), if loser_is_delete { K::AcceptDelete } else if winner_is_delete { K::KeepRecord } else { K::KeepThis })}
                    </button>
                </div>
            </div>
        </li>
    }
    .into_any()
}
