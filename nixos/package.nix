# archil-launch (or, with `program = "archil-fake"`, the test double of the
# Archil client), built from this repository.
#
# vendorHash is checked by nixos/nixos_test.go (TestVendorHash), which
# prints the new value when go.mod or go.sum change.
{
  lib,
  buildGoModule,
  # go.mod asks for Go 1.26; use that toolchain where Nixpkgs has it.
  buildGo126Module ? buildGoModule,
  program ? "archil-launch",
}:
let
  version = "0.1.0";
  root = ../.;
  goFiles = lib.fileset.unions [
    (root + "/go.mod")
    (root + "/go.sum")
    (lib.fileset.fileFilter (file: !(file.hasExt "nix")) (
      lib.fileset.unions (
        map (dir: lib.fileset.maybeMissing (root + "/${dir}")) [
          "authsrc"
          "broker"
          "cmd"
          "internal"
          "launcher"
        ]
      )
    ))
  ];
in
buildGo126Module {
  pname = program;
  inherit version;

  src = lib.fileset.toSource {
    inherit root;
    fileset = goFiles;
  };

  vendorHash = "sha256-+91kA000JbgyG1r1vXLxxvlTVTqbZYajeSpvfnbv+HU=";

  subPackages = [ "cmd/${program}" ];

  env.CGO_ENABLED = 0;
  ldflags = [
    "-s"
    "-w"
    "-X main.version=${version}"
  ];

  # The launcher's tests mount FUSE file systems and need root; they run in
  # the NixOS VM test (nixos/tests/vm.nix) instead of the build sandbox.
  doCheck = false;

  meta = {
    description =
      if program == "archil-fake" then
        "Test double of the Archil client (a real FUSE mount, no network)"
      else
        "Mounts an Archil disk as a systemd notify service";
    homepage = "https://github.com/archil-nix/archil-launch";
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
    mainProgram = program;
  };
}
