//! bsdx: cross-compile Rust services for FreeBSD from Linux.

fn main() {
    let cli = bsdx::cli::Cli::from_env();
    match bsdx::commands::execute(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(bsdx::exit::code_of(&e));
        }
    }
}
