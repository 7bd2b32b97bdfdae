# Evaluation harness for nixos/module.nix without NixOS: lib.evalModules with
# the stand-ins in this directory. Entry points (all take `lib`):
#
#   nix-instantiate --eval --strict --json eval.nix -A case --arg lib ... --arg file ./case.nix
#   ... -A vectors --arg lib ... --arg casesFile /tmp/cases.json
#   ... -A mountUnits --arg lib ... --arg casesFile /tmp/paths.json
#   ... -A golden --arg lib ...
{
  lib,
  file ? null,
  casesFile ? null,
}:
let
  pkgs = import ./pkgs.nix { inherit lib; };

  evalSystem =
    modules:
    lib.evalModules {
      modules = [
        ../../module.nix
        ./stubs.nix
        { _module.args = { inherit pkgs; }; }
      ]
      ++ modules;
    };
  evalConfig = modules: (evalSystem modules).config;

  # A machine with archil enabled and both packages set; cases add mounts.
  base = {
    services.archil = {
      enable = true;
      package = pkgs.archil-client;
      launcherPackage = pkgs.archil-launch;
    };
  };

  failedAssertions = config: map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);

  # NixOS' systemd-lib: toOption and attrsToSection.
  toOption =
    x:
    if x == true then
      "true"
    else if x == false then
      "false"
    else
      toString x;
  attrsToSection =
    as:
    lib.concatStrings (
      lib.concatLists (
        lib.mapAttrsToList (name: value: map (x: "${name}=${toOption x}\n") (lib.toList value)) as
      )
    );

  # A service as NixOS writes its unit file (serviceToUnit), plus an
  # [Install] section from wantedBy/requiredBy: NixOS makes .wants/.requires
  # symlinks instead, a plain systemd needs the section to `enable` the unit.
  renderService =
    svc:
    let
      inherit (svc) unitConfig;
      env = svc.environment;
      install =
        lib.optionalAttrs (svc.wantedBy != [ ]) { WantedBy = toString svc.wantedBy; }
        // lib.optionalAttrs (svc.requiredBy != [ ]) { RequiredBy = toString svc.requiredBy; };
    in
    "[Unit]\n"
    + attrsToSection unitConfig
    + "\n[Service]\n"
    + lib.concatMapStrings (n: "Environment=${builtins.toJSON "${n}=${env.${n}}"}\n") (
      lib.attrNames env
    )
    + lib.optionalString (!svc.restartIfChanged) "X-RestartIfChanged=false\n"
    + attrsToSection svc.serviceConfig
    + lib.optionalString (install != { }) ("\n[Install]\n" + attrsToSection install);

  # Everything of the configuration a system build would use, as strings.
  rendered = config: {
    units = lib.mapAttrs (_: renderService) config.systemd.services;
    etc = lib.mapAttrs (_: e: e.source.text) config.environment.etc;
    systemPackages = map (p: p.name) config.environment.systemPackages;
    inherit (config.boot) kernelModules;
  };

  strict = x: builtins.deepSeq x x;
  try =
    x:
    let
      r = builtins.tryEval (strict x);
    in
    if r.success then r.value else null;

  checked =
    config:
    let
      failed = failedAssertions config;
    in
    if failed != [ ] then
      throw "\nFailed assertions:\n${lib.concatMapStrings (m: "- ${m}\n") failed}"
    else
      strict {
        inherit (config) warnings;
        rendered = rendered config;
      };

  mountOptionNames = lib.attrNames (
    (evalSystem [ base ]).options.services.archil.mounts.type.getSubOptions [ ]
  );

  # One evaluation of a case, with every failure caught and attributed:
  # which options throw (type errors, missing values), which assertions
  # fail, and whether the configuration renders.
  checkMounts =
    mounts:
    let
      config = evalConfig [
        base
        { services.archil.mounts = mounts; }
      ];
    in
    {
      names = lib.mapAttrs (name: _: lib.showOption [ "services" "archil" "mounts" name ]) mounts;
      throwingOptions = lib.mapAttrs (
        name: _:
        lib.filter (o: !(builtins.tryEval (strict config.services.archil.mounts.${name}.${o})).success) (
          lib.filter (o: !(lib.hasPrefix "_" o)) mountOptionNames
        )
      ) mounts;
      failedAssertions = lib.concatMap (
        a:
        let
          r = try (if a.assertion then [ ] else [ a.message ]);
        in
        if r == null then [ "<assertion threw>" ] else r
      ) (if try config.assertions == null then [ ] else config.assertions);
      warnings = try config.warnings;
      renders = try (rendered config) != null;
    };
in
{
  # One case file (a module), checked the way a NixOS build does: failed
  # assertions first (thrown, as NixOS prints them), then everything forced,
  # so any other error surfaces with its message.
  case = checked (evalConfig [ file ]);

  # The launcher's config vectors, turned into mounts by nixos_test.go: a
  # JSON list of { id, mounts }.
  vectors = map (c: {
    inherit (c) id;
    result = checkMounts c.mounts;
  }) (builtins.fromJSON (builtins.readFile casesFile));

  # validate.token on each file in casesFile (a JSON list of paths): null
  # when accepted, the problem otherwise; "<unreadable>" when Nix cannot
  # hold the content (a NUL byte).
  tokens = map (
    f:
    let
      r = builtins.tryEval (builtins.readFile f);
    in
    if r.success then (import ../../validate.nix { inherit lib; }).token r.value else "<unreadable>"
  ) (builtins.fromJSON (builtins.readFile casesFile));

  # The .mount unit name of each path in casesFile (a JSON list).
  mountUnits = map (import ../../unit-name.nix { inherit lib; }).mountUnit (
    builtins.fromJSON (builtins.readFile casesFile)
  );

  # The units and config files under tests/golden.
  golden = checked (evalConfig [
    base
    ../golden/config.nix
  ]);

  # The units of tests/cases/escaped-paths.nix, under tests/golden/escaping:
  # the container suite loads them into systemd to see it read each
  # escaped value back as written.
  escaping = checked (evalConfig [
    ../cases/escaped-paths.nix
    { services.archil.launcherPackage = pkgs.archil-launch; }
  ]);

  # The node of the VM test (tests/vm.nix), with this flake faked: its
  # module must evaluate, render, and pass its assertions.
  vm =
    let
      test = import ../vm.nix {
        self = {
          nixosModules.default = ../../module.nix;
          packages.${pkgs.stdenv.hostPlatform.system} = { inherit (pkgs) archil-launch archil-fake; };
        };
      } { inherit lib; };
    in
    {
      inherit (test) name testScript;
      node = checked (evalConfig [ test.nodes.machine ]);
    };
}
