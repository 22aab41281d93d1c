# STAND-IN for the parts of nixpkgs' lib bsdx's flake (and the stand-in crane)
# use (see ../README.md). Not nixpkgs. Each function has the name, call shape
# and the upstream behaviour that can hide or reveal a bug in a caller
# (string context, regex semantics, strictness, argument checking), written
# from the upstream file named beside it (NixOS/nixpkgs at nixos-26.05, as
# described in ../shared/nix/UPSTREAM.md); the bodies are this project's own.
let
  lib = rec {
    # lib/trivial.nix
    fix =
      f:
      let
        x = f x;
      in
      x;
    id = x: x;
    warnIf = cond: msg: if cond then builtins.trace "warning: ${msg}" else id;

    # lib/attrsets.nix
    genAttrs =
      names: f:
      builtins.listToAttrs (
        map (n: {
          name = n;
          value = f n;
        }) names
      );
    optionalAttrs = cond: as: if cond then as else { };
    isDerivation = v: builtins.isAttrs v && (v.type or null) == "derivation";
    mapAttrs = builtins.mapAttrs;
    attrValues = builtins.attrValues;
    recursiveUpdate =
      lhs: rhs:
      lhs
      // builtins.mapAttrs (
        n: v: if builtins.isAttrs v && builtins.isAttrs (lhs.${n} or null) && !isDerivation v then recursiveUpdate lhs.${n} v else v
      ) rhs;

    # lib/lists.nix
    inherit (builtins) elem;
    optionals = cond: xs: if cond then xs else [ ];
    flatten = x: if builtins.isList x then builtins.concatMap flatten x else [ x ];

    # lib/strings.nix
    concatStringsSep = builtins.concatStringsSep;
    concatMapStringsSep = sep: f: xs: builtins.concatStringsSep sep (map f xs);
    optionalString = cond: s: if cond then s else "";
    hasPrefix = pref: str: builtins.substring 0 (builtins.stringLength pref) str == pref;
    hasSuffix =
      suffix: content:
      let
        ls = builtins.stringLength suffix;
        lc = builtins.stringLength content;
      in
      lc >= ls && builtins.substring (lc - ls) lc content == suffix;
    stringToCharacters = s: builtins.genList (p: builtins.substring p 1 s) (builtins.stringLength s);
    escape = list: builtins.replaceStrings list (map (c: "\\${c}") list);
    # escapeRegex: every character with a meaning in POSIX ERE is escaped.
    escapeRegex = escape (stringToCharacters "\\[{()^$?*+|.");
    # Upstream: `builtins.match ".*${escapeRegex infix}.*" "${content}" != null`.
    # builtins.match forces its regex without string context, so a needle
    # holding a store path aborts evaluation ("is not allowed to refer to a
    # store path") exactly as with the real lib. Keep it that way.
    hasInfix = infix: content: builtins.match ".*${escapeRegex infix}.*" "${content}" != null;
    splitString =
      sep: s: map (x: if builtins.isList x then "" else x) (builtins.filter builtins.isString (builtins.split (escapeRegex sep) s));
    versionAtLeast = v1: v2: builtins.compareVersions v1 v2 >= 0;
    # lib/strings.nix: a word of safe characters is left as it is; anything
    # else (the empty string too) is single-quoted, a ' as '\''.
    escapeShellArg =
      arg:
      let
        s = toString arg;
      in
      if builtins.match "[[:alnum:],._+:@%/-]+" s == null then
        "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] s}'"
      else
        s;
    escapeShellArgs = xs: builtins.concatStringsSep " " (map escapeShellArg xs);
    makeBinPath = ds: builtins.concatStringsSep ":" (map (d: "${d}/bin") ds);

    # lib/trivial.nix: setFunctionArgs/functionArgs (the override machinery keeps a
    # function's formal arguments visible to callPackage)
    setFunctionArgs = f: args: {
      __functor = _self: f;
      __functionArgs = args;
    };
    functionArgs = f: if f ? __functor then f.__functionArgs or (functionArgs (f.__functor f)) else builtins.functionArgs f;
    isFunction = f: builtins.isFunction f || (f ? __functor && isFunction (f.__functor f));

    # lib/customisation.nix: makeOverridable f args -> result // { override, overrideDerivation }
    # (a function result is wrapped so it can be overridden after being called too).
    makeOverridable =
      f:
      let
        mirrorArgs = g: setFunctionArgs g (functionArgs f);
      in
      mirrorArgs (
        origArgs:
        let
          result = f origArgs;
          overrideWith = newArgs: origArgs // (if isFunction newArgs then newArgs origArgs else newArgs);
          overrideResult = g: makeOverridable (mirrorArgs (args: g (f args))) origArgs;
        in
        if builtins.isAttrs result then
          result
          // {
            override = newArgs: makeOverridable f (overrideWith newArgs);
            overrideDerivation = fdrv: overrideResult (x: x // fdrv x);
          }
        else if isFunction result then
          setFunctionArgs result (functionArgs result)
          // {
            override = newArgs: makeOverridable f (overrideWith newArgs);
          }
        else
          result
      );

    # lib/customisation.nix: callPackageWith autoArgs fn args. Like upstream, a
    # formal argument without a default that neither autoArgs nor args supply
    # is an error naming it (upstream: "Function called without required
    # argument "x" at <file>"), instead of Nix's generic "called without
    # required argument".
    callPackageWith =
      autoArgs: fn: args:
      let
        f = if isFunction fn then fn else import fn;
        fargs = functionArgs f;
        allArgs = builtins.intersectAttrs fargs autoArgs // args;
        missing = builtins.filter (n: !fargs.${n} && !(allArgs ? ${n})) (builtins.attrNames fargs);
        where = if builtins.isPath fn then " at ${toString fn}" else "";
      in
      if missing != [ ] then
        throw "lib.customisation.callPackageWith: Function called without required argument \"${builtins.head missing}\"${where}"
      else
        makeOverridable f allArgs;

    # lib/customisation.nix: makeScope newScope f (self-referential, with
    # newScope/callPackage/overrideScope/packages in the result)
    makeScope =
      newScope: f:
      let
        self = f self // {
          newScope = scope: newScope (self // scope);
          callPackage = self.newScope { };
          overrideScope = g: makeScope newScope (extends g f);
          packages = f;
        };
      in
      self;
    extends =
      overlay: f: final:
      let
        prev = f final;
      in
      prev // overlay final prev;

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

    # lib/fileset/default.nix: unions [ paths | filesets ], toSource { root; fileset; }.
    # Upstream checks every element at evaluation time with builtins.readFileType
    # (Nix >= 2.14): a path that does not exist is an error naming it, and a
    # file set with files outside `root` is refused. A file set here is a list
    # of existing paths; toSource imports exactly those under root.
    fileset =
      let
        check =
          context: i: p:
          if !builtins.isPath p then
            throw "${context}: Element ${toString i} is not a path or a file set"
          else if !builtins.pathExists p then
            throw "${context}: Element ${toString i} (${toString p}) is a path that does not exist."
          else
            builtins.seq (builtins.readFileType p) p;
        toList = fs: if builtins.isList fs then fs else [ fs ];
      in
      {
        unions =
          filesets:
          builtins.concatLists (
            builtins.genList (
              i:
              let
                x = builtins.elemAt filesets i;
              in
              if builtins.isList x then x else [ (check "lib.fileset.unions" i x) ]
            ) (builtins.length filesets)
          );
        toSource =
          { root, fileset }:
          let
            wanted = map toString (toList fileset);
            rootStr = toString root;
            outside = builtins.filter (w: w != rootStr && !hasPrefix (rootStr + "/") w) wanted;
            related = p: builtins.any (w: p == w || hasPrefix (w + "/") p || hasPrefix (p + "/") w) wanted;
          in
          if outside != [ ] then
            throw "lib.fileset.toSource: `fileset` could contain files in ${builtins.head outside}, which is not under the `root` (${rootStr})."
          else
            cleanSourceWith {
              name = "source";
              src = root;
              filter = path: _type: related (toString path);
            };
      };
  };
in
lib
