//! Test support lives in `tests/it/`.
