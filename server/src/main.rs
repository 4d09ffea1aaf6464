//! The `gozcu` command. Everything lives in the library so tests can drive it.

/// mimalloc instead of the system allocator: see the note in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gozcu_server::cli::main()
}
