//! Camera CSV import. The user first checks the file (a dry run: nothing is
//! written, every bad row is listed by line and field), then imports it.
//! The server imports all rows or none, so a file with bad rows is refused
//! as a whole and the same error table is shown.

use gozcu_shared::api::ImportReport;
use gozcu_shared::csv_import::CAMERA_COLUMNS;
use gozcu_shared::FieldError;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use crate::api::cameras::CsvSource;
use crate::api::{self, ApiFailure};
use crate::components::alert::ErrorBanner;
use crate::i18n::{field_label, tr, use_lang, K};

#[component]
pub fn ImportPage() -> impl IntoView {
    let lang = use_lang();
    // A `File` is a browser object and cannot cross threads; a local
    // signal holds it.
    let file = RwSignal::new_local(None::<web_sys::File>);
    let pasted = RwSignal::new(String::new());
    let report = RwSignal::new(None::<ImportReport>);
    let error = RwSignal::new(None::<ApiFailure>);
    let busy = RwSignal::new(false);

    let on_file = move |ev: leptos::ev::Event| {
        let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| t.dyn_into().ok());
        file.set(input.and_then(|i| i.files()).and_then(|f| f.get(0)));
        report.set(None);
        error.set(None);
    };

    let run = move |dry_run: bool| {
        if busy.get_untracked() {
            return;
        }
        let source = match file.get_untracked() {
            Some(f) => CsvSource::File(f),
            None => CsvSource::Text(pasted.get_untracked()),
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            match api::cameras::import(&source, dry_run).await {
                Ok(r) => {
                    // Imported cameras reach the lists through the replica.
                    if r.imported > 0 {
                        crate::sync::engine::soon();
                    }
                    report.set(Some(r));
                }
                Err(e) => {
                    // A refused import may come back as an error body whose
                    // fields carry the bad lines; show them in the table.
                    if !e.fields().is_empty() {
                        report.set(Some(ImportReport {
                            dry_run,
                            total_rows: 0,
                            valid_rows: 0,
                            imported: 0,
                            errors: e.fields(),
                        }));
                    }
                    error.set(Some(e));
                }
            }
            busy.set(false);
        });
    };

    // The real import is offered once the input has been checked, even if
    // the check found errors (the server then refuses it as a whole), and
    // not again after it succeeded, which would only duplicate rows.
    let import_offered =
        move || report.with(|r| r.as_ref().is_some_and(|r| r.dry_run || r.imported == 0));
    let has_input = move || file.with(Option::is_some) || !pasted.with(|p| p.trim().is_empty());
    // A clean check is confirmed in words, so the user knows the import
    // will go through.
    let checked_clean = move || {
        report.with(|r| {
            r.as_ref()
                .is_some_and(|r| r.dry_run && r.errors.is_empty() && r.total_rows > 0)
        })
    };

    view! {
        <div class="page-head">
            <h1>{tr(K::ImportTitle)}</h1>
            <a class="button" href=api::cameras::export_url() download="cameras.csv" data-test="export-link">{tr(K::Export)}</a>
        </div>
        <section class="card">
            <p class="help">{tr(K::ImportHelp)}</p>
            <p class="help mono small">{CAMERA_COLUMNS.join(",")}</p>
            <div class="field">
                <label for="import-file">{tr(K::ChooseFile)}</label>
                <input id="import-file" type="file" accept=".csv,text/csv" on:change=on_file/>
            </div>
            <div class="field wide">
                <label for="import-text">{tr(K::OrPaste)}</label>
                <textarea
                    id="import-text"
                    rows="6"
                    class="mono"
                    prop:value=pasted
                    on:input=move |ev| {
                        pasted.set(event_target_value(&ev));
                        report.set(None);
                    }
                ></textarea>
            </div>
            <div class="actions">
                <button type="button" id="import-dry-run" data-test="import-dry-run" disabled=move || busy.get() || !has_input() on:click=move |_| run(true)>
                    {tr(K::DryRun)}
                </button>
                <button
                    type="button"
                    class="primary"
                    id="import-run"
                    data-test="import-run"
                    disabled=move || busy.get() || !has_input() || !import_offered()
                    on:click=move |_| run(false)
                >
                    {tr(K::RunImport)}
                </button>
            </div>
            {move || checked_clean().then(|| view! { <p class="alert ok" data-test="import-clean">{tr(K::ImportClean)}</p> })}
        </section>
        <ErrorBanner error=error/>
        {move || report.get().map(|r| view! { <ReportView r lang=lang.get()/> })}
    }
}

#[component]
fn ReportView(r: ImportReport, lang: gozcu_shared::Lang) -> impl IntoView {
    let outcome = if !r.dry_run && r.imported > 0 {
        Some(
            view! { <p class="alert ok" data-test="import-done">{tr(K::ImportDone)}</p> }
                .into_any(),
        )
    } else if !r.dry_run {
        Some(
            view! { <p class="alert error" data-test="import-refused">{tr(K::ImportRefused)}</p> }
                .into_any(),
        )
    } else {
        None
    };
    let mut errors: Vec<FieldError> = r.errors;
    errors.sort_by_key(|e| e.line.unwrap_or(0));
    view! {
        <section class="card report" data-test="import-report" data-dry-run=r.dry_run.to_string()>
            {outcome}
            <dl class="totals">
                <div>
                    <dt>{tr(K::TotalRows)}</dt>
                    <dd data-test="total-rows">{r.total_rows}</dd>
                </div>
                <div>
                    <dt>{tr(K::ValidRows)}</dt>
                    <dd data-test="valid-rows">{r.valid_rows}</dd>
                </div>
                <div>
                    <dt>{tr(K::Imported)}</dt>
                    <dd data-test="imported">{r.imported}</dd>
                </div>
            </dl>
            {(!errors.is_empty())
                .then(|| {
                    view! {
                        <table class="list">
                            <thead>
                                <tr>
                                    <th>{tr(K::Line)}</th>
                                    <th>{tr(K::Field)}</th>
                                    <th>{tr(K::Message)}</th>
                                </tr>
                            </thead>
                            <tbody>
                                {errors
                                    .into_iter()
                                    .map(|e| {
                                        let line = e.line.map(|l| l.to_string()).unwrap_or_default();
                                        let (data_line, data_field) = (line.clone(), e.field.clone());
                                        view! {
                                            <tr data-test="import-error" data-line=data_line data-field=data_field data-code=e.code.as_str()>
                                                <td>{line}</td>
                                                <td>{field_label(lang, &e.field)}</td>
                                                <td>{e.code.message(lang)}</td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    }
                })}
        </section>
    }
}
