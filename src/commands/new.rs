use anyhow::Result;

use super::*;
use crate::cli::NewArgs;

pub fn execute(a: NewArgs) -> Result<i32> {
    let dest = a.path.clone().unwrap_or_else(|| PathBuf::from(&a.name));
    let created = crate::new::create(&a.name, &a.template, &dest, a.flake.as_deref())?;
    if a.json {
        print_json(&created)?;
    } else {
        println!(
            "created {} from template `{}` ({} files)",
            dest.display(),
            created.template,
            created.files.len()
        );
        if created.flake_url_is_placeholder {
            println!(
                "flake.nix: inputs.bsdx.url is a placeholder ({}); set it to the bsdx flake you use, or create the project with --flake URL",
                crate::new::FLAKE_URL_PLACEHOLDER
            );
        }
        if crate::project::declares_service(&dest) {
            println!(
                "next: cd {} && bsdx build (or bsdx package: a FreeBSD .pkg of the service)",
                dest.display()
            );
        } else {
            println!("next: cd {} && bsdx build", dest.display());
        }
    }
    Ok(exit::OK)
}
