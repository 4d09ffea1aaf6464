//! Devices whose warranty ends within a chosen number of days; each row can
//! be acknowledged so the list shows only what still needs attention.

use gozcu_shared::api::WarrantyAck;
use gozcu_shared::inventory::DeviceKind;
use gozcu_shared::Permission;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use crate::api::{self, ApiFailure};
use crate::components::alert::ErrorBanner;
use crate::i18n::{field_label, t, tr, use_lang, K};
use crate::session::{can, kind_path};

const CHOICES: [u32; 4] = [30, 60, 90, 180];

#[component]
pub fn WarrantyPage() -> impl IntoView {
    let lang = use_lang();
    let days = RwSignal::new(90u32);
    let include_ack = RwSignal::new(false);
    let can_ack = can(Permission::WarrantyAcknowledge);
    let items = LocalResource::new(move || {
        let (d, inc) = (days.get(), include_ack.get());
        async move { api::warranty::list(d, inc).await }
    });
    let error = RwSignal::new(None::<ApiFailure>);
    let ack = move |kind: DeviceKind, id| {
        error.set(None);
        spawn_local(async move {
            match api::warranty::acknowledge(&WarrantyAck { kind, id }).await {
                Ok(()) => items.refetch(),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let kind_label = move |k: DeviceKind| {
        t(
            lang.get(),
            match k {
                DeviceKind::Camera => K::Camera,
                DeviceKind::Recorder => K::Recorder,
                DeviceKind::Switch => K::Switch,
            },
        )
    };
    view! {
        <h1>{tr(K::WarrantyTitle)}</h1>
        <div class="filters">
            <label>
                {tr(K::WithinDays)}" "
                <select id="within-days" data-test="within-days" on:change=move |ev| days.set(event_target_value(&ev).parse().unwrap_or(90))>
                    {CHOICES
                        .into_iter()
                        .map(|d| view! { <option value=d.to_string() selected=move || days.get() == d>{d}" "{tr(K::Days)}</option> })
                        .collect_view()}
                </select>
            </label>
            <label class="check">
                <input type="checkbox" prop:checked=include_ack on:change=move |ev| include_ack.set(event_target_checked(&ev))/>
                {tr(K::IncludeAcknowledged)}
            </label>
        </div>
        <ErrorBanner error=error/>
        {move || match items.get() {
            None => view! { <p>{tr(K::Loading)}</p> }.into_any(),
            Some(Err(e)) => view! { <ErrorBanner error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! { <p class="empty" data-test="no-warranty">{tr(K::NoWarranty)}</p> }.into_any(),
            Some(Ok(list)) => view! {
                <div class="table-wrap">
                    <table class="list" data-test="warranty-table">
                        <thead>
                            <tr>
                                <th>{tr(K::Kind)}</th>
                                <th>{move || field_label(lang.get(), "name")}</th>
                                <th>{move || field_label(lang.get(), "site")}</th>
                                <th>{move || field_label(lang.get(), "make")}</th>
                                <th>{move || field_label(lang.get(), "serial")}</th>
                                <th>{move || field_label(lang.get(), "warranty_end")}</th>
                                <th>{tr(K::DaysLeft)}</th>
                                <th></th>
                            </tr>
                        </thead>
                        <tbody>
                            {list
                                .into_iter()
                                .map(|w| {
                                    let (kind, id) = (w.kind, w.id);
                                    view! {
                                        <tr data-test="warranty-row" class:overdue=w.days_left < 0>
                                            <td>{move || kind_label(kind)}</td>
                                            <td><A href=format!("/{}/{}", kind_path(kind), id)>{w.name}</A></td>
                                            <td>{w.site_name}</td>
                                            <td>{w.make}</td>
                                            <td class="mono">{w.serial}</td>
                                            <td>{w.warranty_end}</td>
                                            <td class="num">{w.days_left}</td>
                                            <td>
                                                {if w.acknowledged {
                                                    view! { <span class="badge">{tr(K::Acknowledged)}</span> }.into_any()
                                                } else {
                                                    view! {
                                                        <Show when=can_ack>
                                                            <button type="button" data-test="warranty-ack" on:click=move |_| ack(kind, id)>{tr(K::Acknowledge)}</button>
                                                        </Show>
                                                    }
                                                        .into_any()
                                                }}
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
            }
                .into_any(),
        }}
    }
}
