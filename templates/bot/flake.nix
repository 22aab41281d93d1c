{
  description = "bsdx-bot-template: a Discord bot cross-built for FreeBSD with bsdx";

  # The bsdx flake. Point this URL at where you got bsdx (a fork, a tag, a
  # local checkout: "path:/home/me/src/bsdx"); its nixpkgs, rust-overlay and
  # crane pins come with it (`nix flake lock --update-input bsdx` to move on).
  inputs.bsdx.url = "github:bsdx-dev/bsdx";

  outputs =
    { self, bsdx }:
    let
      forAllSystems =
        f:
        builtins.listToAttrs (
          map (system: {
            name = system;
            value = f system;
          }) bsdx.lib.systems
        );
    in
    {
      # `nix build .#freebsd`: result/bin/bsdx-bot-template and
      # result/etc/rc.d/bsdx_bot_template, audited by `bsdx check`.
      # Add release = "13.5" (etc.) or target = "aarch64-unknown-freebsd" to change what it is built for.
      packages = forAllSystems (system: rec {
        freebsd = bsdx.lib.buildFreebsdPackage {
          inherit system;
          src = ./.;
        };
        default = freebsd;
      });

      # `nix develop`: bsdx, Rust with the FreeBSD std, Zig, cargo-zigbuild, and
      # the environment `bsdx env` prints, so `cargo zigbuild --release
      # --target x86_64-unknown-freebsd` links against the pinned FreeBSD base.
      devShells = forAllSystems (system: {
        default = bsdx.lib.mkDevShell { inherit system; };
      });
    };
}
