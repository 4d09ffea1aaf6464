//! The `gozcu` command. Everything lives in the library so tests can drive it.

fn main() -> std::process::ExitCode {
    gozcu_server::cli::main()
}
