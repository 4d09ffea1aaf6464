//! User administration (admins only; the server refuses everyone else).
//! One form creates a user or edits the selected one: role, sites, active,
//! and a new password, which is how a password is reset.

use gozcu_shared::api::{User, UserInput, MIN_PASSWORD_LEN};
use gozcu_shared::{ErrorCode, FieldError, Role};
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::api::{self, ApiFailure};
use crate::components::alert::{ErrorBanner, OkBanner};
use crate::components::form::{
    put, text, CheckField, FieldErrors, Form, OrphanErrors, SelectField, TextField, Values,
};
use crate::i18n::{field_label, t, tr, use_lang, K};
use crate::session::use_sites;

/// The form's text as a `UserInput`, with the same checks the server makes
/// on each field. `creating` decides whether a password is required.
fn input_from(v: &Values, creating: bool) -> Result<UserInput, Vec<FieldError>> {
    let mut errs = Vec::new();
    let username = text(v, "username").trim().to_owned();
    if username.is_empty() {
        errs.push(FieldError::new("username", ErrorCode::Required));
    }
    let display_name = text(v, "display_name").trim().to_owned();
    if display_name.is_empty() {
        errs.push(FieldError::new("display_name", ErrorCode::Required));
    }
    let role = Role::parse(&text(v, "role"));
    if role.is_none() {
        errs.push(FieldError::new("role", ErrorCode::Required));
    }
    let password = Some(text(v, "password")).filter(|p| !p.is_empty());
    match &password {
        None if creating => errs.push(FieldError::new("password", ErrorCode::Required)),
        Some(p) if p.chars().count() < MIN_PASSWORD_LEN => {
            errs.push(FieldError::new("password", ErrorCode::WeakPassword))
        }
        _ => {}
    }
    let site_ids = text(v, "site_ids")
        .split(',')
        .filter_map(|s| Uuid::parse_str(s).ok())
        .collect();
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(UserInput {
        username,
        display_name,
        role,
        site_ids,
        password,
        active: text(v, "active") == "true",
    })
}

fn validate_new(v: &Values) -> Vec<FieldError> {
    input_from(v, true).err().unwrap_or_default()
}

fn validate_edit(v: &Values) -> Vec<FieldError> {
    input_from(v, false).err().unwrap_or_default()
}

fn values_of(u: Option<&User>) -> Values {
    let mut v = Values::new();
    match u {
        Some(u) => {
            put(&mut v, "username", &u.username);
            put(&mut v, "display_name", &u.display_name);
            put(&mut v, "role", u.role.as_str());
            put(
                &mut v,
                "site_ids",
                u.site_ids
                    .iter()
                    .map(Uuid::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            );
            put(&mut v, "active", if u.active { "true" } else { "" });
        }
        None => {
            put(&mut v, "role", Role::Technician.as_str());
            put(&mut v, "active", "true");
        }
    }
    v
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let lang = use_lang();
    let users = LocalResource::new(api::users::list);
    // `None` = creating a new user; `Some(user)` = editing that one.
    let editing = RwSignal::new(None::<User>);
    let generation = RwSignal::new(0u32);
    view! {
        <div class="page-head">
            <h1>{tr(K::UsersTitle)}</h1>
            <button type="button" class="primary" data-test="new-user" on:click=move |_| {
                editing.set(None);
                generation.update(|g| *g += 1);
            }>{tr(K::NewUser)}</button>
        </div>
        <div class="two-col">
            <div class="table-wrap">
                {move || match users.get() {
                    None => view! { <p>{tr(K::Loading)}</p> }.into_any(),
                    Some(Err(e)) => view! { <ErrorBanner error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                    Some(Ok(list)) => view! {
                        <table class="list" data-test="users-table">
                            <thead>
                                <tr>
                                    <th>{move || field_label(lang.get(), "username")}</th>
                                    <th>{move || field_label(lang.get(), "display_name")}</th>
                                    <th>{move || field_label(lang.get(), "role")}</th>
                                    <th>{move || field_label(lang.get(), "active")}</th>
                                    <th></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list
                                    .into_iter()
                                    .map(|u| {
                                        let role = u.role;
                                        let active = u.active;
                                        let user = u.clone();
                                        let data_username = u.username.clone();
                                        view! {
                                            <tr data-test="user-row" data-username=data_username class:inactive=!active>
                                                <td class="mono">{u.username}</td>
                                                <td>{u.display_name}</td>
                                                <td>{move || role.label(lang.get())}</td>
                                                <td>{move || t(lang.get(), if active { K::Yes } else { K::No })}</td>
                                                <td>
                                                    <button type="button" data-test="user-edit" on:click=move |_| {
                                                        editing.set(Some(user.clone()));
                                                        generation.update(|g| *g += 1);
                                                    }>{tr(K::Edit)}</button>
                                                </td>
                                            </tr>
                                        }
                                    })
                                    .collect_view()}
                            </tbody>
                        </table>
                    }
                        .into_any(),
                }}
            </div>
            // A new form per selection, so no state leaks between users.
            {move || {
                generation.get();
                let user = editing.get_untracked();
                view! { <UserForm user on_saved=move || users.refetch()/> }
            }}
        </div>
    }
}

#[component]
fn UserForm(user: Option<User>, on_saved: impl Fn() + Copy + 'static) -> impl IntoView {
    let lang = use_lang();
    let sites = use_sites();
    let id = user.as_ref().map(|u| u.id);
    let creating = id.is_none();
    let form = Form::new(
        values_of(user.as_ref()),
        if creating {
            validate_new
        } else {
            validate_edit
        },
    );
    let error = RwSignal::new(None::<ApiFailure>);
    let ok = RwSignal::new(None::<String>);
    let role_options = Signal::derive(move || {
        Role::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), r.label(lang.get()).to_owned()))
            .collect::<Vec<_>>()
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        ok.set(None);
        if !form.check() {
            return;
        }
        let Ok(input) = input_from(&form.values.get_untracked(), creating) else {
            return;
        };
        spawn_local(async move {
            let r = match id {
                None => api::users::create(&input).await,
                Some(id) => api::users::update(id, &input).await,
            };
            match r {
                Ok(u) => {
                    // After a creation the form is ready for the next new
                    // user; after an edit it shows what was stored.
                    form.reset(values_of(if creating { None } else { Some(&u) }));
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
    let site_checked = move |sid: Uuid| {
        form.get("site_ids")
            .split(',')
            .any(|s| s == sid.to_string())
    };
    let toggle_site = move |sid: Uuid, on: bool| {
        let mut ids: Vec<String> = form
            .get("site_ids")
            .split(',')
            .filter(|s| !s.is_empty() && *s != sid.to_string())
            .map(str::to_owned)
            .collect();
        if on {
            ids.push(sid.to_string());
        }
        form.set("site_ids", ids.join(","));
    };
    view! {
        <form class="card" id="user-form" data-test="user-form" on:submit=on_submit>
            <h2>{tr(if creating { K::NewUser } else { K::EditUser })}</h2>
            <ErrorBanner error=error/>
            <OkBanner message=ok/>
            <OrphanErrors form/>
            <TextField form field="username" required=true/>
            <TextField form field="display_name" required=true/>
            <SelectField form field="role" options=role_options required=true/>
            <fieldset class="field sites">
                <legend>{move || field_label(lang.get(), "site_ids")}</legend>
                <p class="help small">{tr(K::AllSitesHint)}</p>
                {move || {
                    sites
                        .get()
                        .and_then(Result::ok)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|s| {
                            let sid = s.id;
                            view! {
                                <label class="check">
                                    <input type="checkbox" prop:checked=move || site_checked(sid) on:change=move |ev| toggle_site(sid, event_target_checked(&ev))/>
                                    {s.name}
                                </label>
                            }
                        })
                        .collect_view()
                }}
                <FieldErrors form field="site_ids"/>
            </fieldset>
            <CheckField form field="active"/>
            <TextField form field="password" input_type="password" required=creating autocomplete="new-password"/>
            {(!creating).then(|| view! { <p class="help small">{tr(K::NewPasswordHint)}</p> })}
            <div class="actions">
                <button type="submit" class="primary" data-test="user-save">{tr(K::Save)}</button>
            </div>
        </form>
    }
}
