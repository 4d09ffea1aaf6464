//! Sites → buildings → locations with device counts, and the forms that add
//! each level. Validation is the shared `normalize()` of each type.

use gozcu_shared::inventory::{Building, Location, Site, SiteTree};
use gozcu_shared::{ErrorCode, FieldError, Permission};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::alert::ErrorBanner;
use crate::components::form::{
    opt_text, opt_uuid, text, Form, OrphanErrors, SelectField, TextField, Values,
};
use crate::i18n::{tr, K};
use crate::routes::checklists::RunsPanel;
use crate::session::{can, site_options, use_sites};
use gozcu_shared::checklists::TargetKind;

fn site_from(v: &Values) -> Site {
    Site {
        id: Uuid::nil(),
        name: text(v, "name"),
        code: opt_text(v, "code"),
        address: opt_text(v, "address"),
        notes: None,
    }
}

fn building_from(v: &Values) -> (Building, Vec<FieldError>) {
    let mut errs = Vec::new();
    let site_id = opt_uuid(v, "site_id").unwrap_or_else(|| {
        errs.push(FieldError::new("site_id", ErrorCode::Required));
        Uuid::nil()
    });
    (
        Building {
            id: Uuid::nil(),
            site_id,
            name: text(v, "name"),
            notes: None,
        },
        errs,
    )
}

fn location_from(v: &Values) -> (Location, Vec<FieldError>) {
    let mut errs = Vec::new();
    let building_id = opt_uuid(v, "building_id").unwrap_or_else(|| {
        errs.push(FieldError::new("building_id", ErrorCode::Required));
        Uuid::nil()
    });
    (
        Location {
            id: Uuid::nil(),
            building_id,
            name: text(v, "name"),
            floor: opt_text(v, "floor"),
            notes: None,
        },
        errs,
    )
}

fn validate_site(v: &Values) -> Vec<FieldError> {
    site_from(v).normalize().err().unwrap_or_default()
}

fn validate_building(v: &Values) -> Vec<FieldError> {
    let (b, mut errs) = building_from(v);
    errs.extend(b.normalize().err().unwrap_or_default());
    errs
}

fn validate_location(v: &Values) -> Vec<FieldError> {
    let (l, mut errs) = location_from(v);
    errs.extend(l.normalize().err().unwrap_or_default());
    errs
}

#[component]
pub fn SitesPage() -> impl IntoView {
    let tree = LocalResource::new(api::sites::tree);
    let sites = use_sites();
    let can_write = can(Permission::SitesWrite);
    // Adding anything changes the tree; a new site also changes every
    // site select in the app.
    let reload = move |site_added: bool| {
        tree.refetch();
        if site_added {
            sites.refetch();
            // The device forms read places from the replica: pull them now.
            crate::sync::engine::soon();
        }
    };
    let building_options = Signal::derive(move || {
        tree.get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .flat_map(|t| {
                let site = t.site.name.clone();
                t.buildings.into_iter().map(move |b| {
                    (
                        b.building.id.to_string(),
                        format!("{site} / {}", b.building.name),
                    )
                })
            })
            .collect::<Vec<_>>()
    });
    view! {
        <h1>{tr(K::SiteTreeTitle)}</h1>
        <section class="tree" data-test="site-tree">
            {move || match tree.get() {
                None => view! { <p>{tr(K::Loading)}</p> }.into_any(),
                Some(Err(e)) => view! { <ErrorBanner error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="empty">{tr(K::NoSites)}</p> }.into_any(),
                Some(Ok(list)) => list.into_iter().map(|t| view! { <SiteNode t/> }).collect_view().into_any(),
            }}
        </section>
        <Show when=can_write>
            <div class="forms-grid">
                <SiteForm on_saved=move || reload(true)/>
                <BuildingForm on_saved=move || reload(false)/>
                <LocationForm options=building_options on_saved=move || reload(false)/>
            </div>
        </Show>
    }
}

#[component]
fn SiteNode(t: SiteTree) -> impl IntoView {
    let SiteTree {
        site,
        buildings,
        camera_count,
        recorder_count,
        switch_count,
    } = t;
    let code = site.code.map(|c| format!(" ({c})"));
    let data_site = site.name.clone();
    let site_id = site.id;
    view! {
        <details class="site" open data-test="site-node" data-site=data_site>
            <summary>
                <strong>{site.name}</strong>
                {code}
                <span class="counts">
                    <span class="badge" title="cameras">{camera_count}" "{tr(K::Cameras)}</span>
                    <span class="badge" title="recorders">{recorder_count}" "{tr(K::Recorders)}</span>
                    <span class="badge" title="switches">{switch_count}" "{tr(K::Switches)}</span>
                </span>
            </summary>
            {if buildings.is_empty() {
                view! { <p class="empty">{tr(K::NoBuildings)}</p> }.into_any()
            } else {
                view! {
                    <ul class="buildings">
                        {buildings
                            .into_iter()
                            .map(|b| {
                                view! {
                                    <li data-test="building-node">
                                        <strong>{b.building.name}</strong>
                                        <ul class="locations">
                                            {b
                                                .locations
                                                .into_iter()
                                                .map(|l| {
                                                    let floor = l.floor.map(|f| format!(" · {f}"));
                                                    view! { <li data-test="location-node">{l.name}{floor}</li> }
                                                })
                                                .collect_view()}
                                        </ul>
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
            // Site surveys (keşif) and other site-wide checklists.
            <RunsPanel target_kind=TargetKind::Site target_id=site_id/>
        </details>
    }
}

/// Sends a normalized record and resets the form on success, or puts the
/// server's field errors next to the inputs.
fn submit<T: 'static, Fut>(
    form: Form,
    error: RwSignal<Option<ApiFailure>>,
    fut: Fut,
    on_saved: impl Fn() + 'static,
) where
    Fut: std::future::Future<Output = Result<T, ApiFailure>> + 'static,
{
    error.set(None);
    spawn_local(async move {
        match fut.await {
            Ok(_) => {
                // Keep the chosen parent so several children can be added in a row.
                let keep: Values = form
                    .values
                    .get_untracked()
                    .into_iter()
                    .filter(|(k, _)| k.ends_with("_id"))
                    .collect();
                form.reset(keep);
                on_saved();
            }
            Err(e) => {
                form.server.set(e.fields());
                error.set(Some(e));
            }
        }
    });
}

#[component]
fn SiteForm(on_saved: impl Fn() + Copy + 'static) -> impl IntoView {
    let form = Form::new(Values::new(), validate_site);
    let error = RwSignal::new(None::<ApiFailure>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.check() {
            return;
        }
        let Ok(site) = site_from(&form.values.get_untracked()).normalize() else {
            return;
        };
        submit(
            form,
            error,
            async move { api::sites::create(&site).await },
            on_saved,
        );
    };
    view! {
        <form class="card" id="site-form" data-test="site-form" on:submit=on_submit>
            <h2>{tr(K::AddSite)}</h2>
            <ErrorBanner error=error/>
            <OrphanErrors form/>
            <TextField form field="name" required=true/>
            <TextField form field="code"/>
            <TextField form field="address"/>
            <button type="submit" class="primary" data-test="site-save">{tr(K::AddSite)}</button>
        </form>
    }
}

#[component]
fn BuildingForm(on_saved: impl Fn() + Copy + 'static) -> impl IntoView {
    let form = Form::new(Values::new(), validate_building);
    let error = RwSignal::new(None::<ApiFailure>);
    let options = site_options();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.check() {
            return;
        }
        let Ok(b) = building_from(&form.values.get_untracked()).0.normalize() else {
            return;
        };
        submit(
            form,
            error,
            async move { api::sites::create_building(&b).await },
            on_saved,
        );
    };
    view! {
        <form class="card" id="building-form" data-test="building-form" on:submit=on_submit>
            <h2>{tr(K::AddBuilding)}</h2>
            <ErrorBanner error=error/>
            <OrphanErrors form/>
            <SelectField form field="site_id" options=Signal::derive(options) required=true/>
            <TextField form field="name" required=true/>
            <button type="submit" class="primary" data-test="building-save">{tr(K::AddBuilding)}</button>
        </form>
    }
}

#[component]
fn LocationForm(
    options: Signal<Vec<(String, String)>>,
    on_saved: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let form = Form::new(Values::new(), validate_location);
    let error = RwSignal::new(None::<ApiFailure>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !form.check() {
            return;
        }
        let Ok(l) = location_from(&form.values.get_untracked()).0.normalize() else {
            return;
        };
        submit(
            form,
            error,
            async move { api::sites::create_location(&l).await },
            on_saved,
        );
    };
    view! {
        <form class="card" id="location-form" data-test="location-form" on:submit=on_submit>
            <h2>{tr(K::AddLocation)}</h2>
            <ErrorBanner error=error/>
            <OrphanErrors form/>
            <SelectField form field="building_id" options required=true/>
            <TextField form field="name" required=true/>
            <TextField form field="floor"/>
            <button type="submit" class="primary" data-test="location-save">{tr(K::AddLocation)}</button>
        </form>
    }
}
