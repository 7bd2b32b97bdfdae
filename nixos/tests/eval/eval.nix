# Evaluation of nixos/module.nix inside NixOS' own modules (nixos.nix).
# Entry points, all taking `lib` (nixpkgs' lib) and `nixos` (a tree with
# the NixOS modules; nixos_test.go finds both):
#
#   -A case --arg file ./case.nix       one case of tests/cases
#   -A vectors --arg casesFile f.json    the launcher's config vectors
#   -A tokens --arg casesFile f.json     validate.token on token vectors
#   -A mountUnits --arg casesFile f.json unit-name.nix on paths
#   -A golden, -A escaping               the units under tests/golden
#   -A vm                                the node of tests/vm.nix
#   -A readme --arg file ./flake.nix     the README's flake (readme.nix)
{
  lib,
  nixos,
  file ? null,
  casesFile ? null,
}:
let
  # NixOS with this module (a second import of it, as the VM node and the
  # README's flake make, is the same module: the module system keeps one).
  evalNixos = modules: import ./nixos.nix { inherit lib nixos; } ([ ../../module.nix ] ++ modules);
  evalConfig = modules: (evalNixos modules).config;
  render = import ./render.nix { inherit lib; };

  # A machine with archil enabled and the client set; the launcher is the
  # module's default (nixos/package.nix through callPackage).
  base =
    { pkgs, ... }:
    {
      services.archil = {
        enable = true;
        package = pkgs.archil-client;
      };
    };

  mountOptionNames = lib.attrNames (
    (evalNixos [ base ]).options.services.archil.mounts.type.getSubOptions [ ]
  );

  strict = x: builtins.deepSeq x x;
  try =
    x:
    let
      r = builtins.tryEval (strict x);
    in
    if r.success then r.value else null;

  # One evaluation of a vector, with every failure caught and attributed:
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
      renders = try (render.rendered config) != null;
    };

  fromJSONFile = f: builtins.fromJSON (builtins.readFile f);
in
{
  # One case file (a module), checked the way a NixOS build does: failed
  # assertions first (thrown, as NixOS prints them), then everything forced,
  # so any other error surfaces with its message.
  case = render.checked (evalConfig [ file ]);

  # The launcher's config vectors, turned into mounts by nixos_test.go: a
  # JSON list of { id, mounts }.
  vectors = map (c: {
    inherit (c) id;
    result = checkMounts c.mounts;
  }) (fromJSONFile casesFile);

  # validate.token on each file in casesFile (a JSON list of paths): null
  # when accepted, the problem otherwise; "<unreadable>" when Nix cannot
  # hold the content (a NUL byte).
  tokens = map (
    f:
    let
      r = builtins.tryEval (builtins.readFile f);
    in
    if r.success then (import ../../validate.nix { inherit lib; }).token r.value else "<unreadable>"
  ) (fromJSONFile casesFile);

  # The .mount unit name of each path in casesFile (a JSON list).
  mountUnits = map (import ../../unit-name.nix { inherit lib; }).mountUnit (fromJSONFile casesFile);

  # The units and config files under tests/golden.
  golden = render.checked (evalConfig [
    base
    ../golden/config.nix
  ]);

  # The units of tests/cases/escaped-paths.nix, under tests/golden/escaping:
  # the container suite loads them into systemd to see it read each
  # escaped value back as written.
  escaping = render.checked (evalConfig [ ../cases/escaped-paths.nix ]);

  # The node of the VM test (tests/vm.nix), with this flake's packages
  # from nixos/package.nix: its module must evaluate, render, and pass its
  # assertions.
  vm =
    let
      pkgs = import ./pkgs.nix { inherit lib; };
      test = import ../vm.nix {
        self = {
          nixosModules.default = ../../module.nix;
          packages.${pkgs.stdenv.hostPlatform.system} = lib.genAttrs [ "archil-launch" "archil-fake" ] (
            program: pkgs.callPackage ../../package.nix { inherit program; }
          );
        };
      } { inherit lib; };
      # A node, and each of its specialisations (the parent's config and
      # the specialisation's, as NixOS builds them with inheritParentConfig).
      withSpecialisations =
        node:
        render.checked (evalConfig [ node ])
        // {
          specialisations = lib.mapAttrs (_: sp: render.checked (evalConfig [
            node
            sp.configuration
          ])) (evalConfig [ node ]).specialisation;
        };
    in
    {
      inherit (test) name testScript;
      nodes = lib.mapAttrs (_: withSpecialisations) test.nodes;
    };

  # The README's NixOS configuration: its flake's outputs, called with
  # stand-ins for its inputs (readme.nix).
  readme = import ./readme.nix {
    inherit lib evalNixos file;
    inherit (render) checked;
  };
}
