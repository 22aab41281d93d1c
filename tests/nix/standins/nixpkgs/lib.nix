# STAND-IN for the parts of nixpkgs' lib bsdx's flake uses (see ../README.md).
# Same names and call shapes as NixOS/nixpkgs lib/*.nix; simplified bodies.
let
  lib = rec {
    # lib/attrsets.nix
    genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
    optionalAttrs = cond: as: if cond then as else { };
    isDerivation = v: builtins.isAttrs v && (v.type or null) == "derivation";

    # lib/lists.nix
    inherit (builtins) elem;

    # lib/strings.nix
    concatStringsSep = builtins.concatStringsSep;
    hasPrefix = pre: s: builtins.substring 0 (builtins.stringLength pre) s == pre;
    hasInfix =
      infix: content:
      let
        n = builtins.stringLength infix;
        len = builtins.stringLength content;
        go = i: i + n <= len && (builtins.substring i n content == infix || go (i + 1));
      in
      go 0;
    versionAtLeast = v1: v2: builtins.compareVersions v1 v2 >= 0;
    escapeShellArg = s: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString s)}'";

    # lib/customisation.nix
    makeOverridable =
      f: args:
      let
        result = f args;
        override = newArgs: makeOverridable f (args // (if builtins.isFunction newArgs then newArgs args else newArgs));
      in
      if builtins.isAttrs result then result // { inherit override; } else result;

    callPackageWith =
      autoArgs: fn: args:
      let
        f = if builtins.isFunction fn then fn else import fn;
        wanted = builtins.intersectAttrs (builtins.functionArgs f) autoArgs;
      in
      makeOverridable f (wanted // args);

    makeScope =
      newScope: f:
      let
        self = f self // {
          newScope = scope: newScope (self // scope);
          callPackage = self.newScope { };
          overrideScope = g: makeScope newScope (s: let prev = f s; in prev // g s prev);
          packages = f;
        };
      in
      self;

    # lib/sources.nix: cleanSourceWith { src; filter; name; } -> { _isLibCleanSourceWith, origSrc, filter, outPath, name }
    cleanSourceWith =
      {
        src,
        filter ? _path: _type: true,
        name ? "source",
      }:
      let
        origSrc = src.origSrc or src;
      in
      {
        _isLibCleanSourceWith = true;
        inherit origSrc filter name;
        outPath = builtins.path {
          inherit name filter;
          path = origSrc;
        };
      };

    # lib/fileset/default.nix: toSource { root; fileset; } (via cleanSourceWith), unions [ filesets ].
    # A file set here is a list of paths; toSource imports exactly those under root.
    fileset = {
      unions = filesets: builtins.concatMap (f: if builtins.isList f then f else [ f ]) filesets;
      toSource =
        { root, fileset }:
        let
          wanted = map toString (if builtins.isList fileset then fileset else [ fileset ]);
          related = p: builtins.any (w: p == w || hasPrefix (w + "/") p || hasPrefix (p + "/") w) wanted;
        in
        cleanSourceWith {
          name = "source";
          src = root;
          filter = path: _type: related (toString path);
        };
    };
  };
in
lib
