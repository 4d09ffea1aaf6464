//! Paging for long lists: the server counts and slices, the page only ever
//! holds one page of rows, which keeps a 10,000-camera inventory fast.

use leptos::prelude::*;

use crate::i18n::{tr, K};

/// A new page starts at its first row, not where the last one was left.
fn to_top() {
    window().scroll_to_with_x_and_y(0.0, 0.0);
}

#[component]
pub fn Pager(
    offset: RwSignal<u32>,
    limit: u32,
    #[prop(into)] total: Signal<Option<u64>>,
) -> impl IntoView {
    let range = move || {
        let total = total.get().unwrap_or(0);
        let from = if total == 0 {
            0
        } else {
            offset.get() as u64 + 1
        };
        let to = (offset.get() as u64 + limit as u64).min(total);
        format!("{from}–{to} / {total}")
    };
    let has_prev = move || offset.get() > 0;
    let has_next = move || (offset.get() as u64 + limit as u64) < total.get().unwrap_or(0);
    view! {
        <nav class="pager" data-test="pager">
            <button type="button" disabled=move || !has_prev() on:click=move |_| {
                    offset.update(|o| *o = o.saturating_sub(limit));
                    to_top();
                } data-test="prev">
                {tr(K::Prev)}
            </button>
            <span class="range" data-test="range">{tr(K::Total)}": "{range}</span>
            <button type="button" disabled=move || !has_next() on:click=move |_| {
                    offset.update(|o| *o += limit);
                    to_top();
                } data-test="next">
                {tr(K::Next)}
            </button>
        </nav>
    }
}
