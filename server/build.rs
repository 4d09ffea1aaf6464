// `sqlx::migrate!` embeds the migration files at compile time, but cargo
// does not know it reads them: without this, a new migration is left out of
// an incremental build until some Rust file changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
