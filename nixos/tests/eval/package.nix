# nixos/package.nix with buildGoModule replaced by the identity, for
# nixos_test.go (src is not forced: lib.fileset needs a newer Nix than the
# test host may have).
{ lib }:
lib.genAttrs [ "archil-launch" "archil-fake" ] (
  program:
  let
    args = import ../../package.nix {
      inherit lib program;
      buildGoModule = lib.id;
    };
  in
  {
    inherit (args) pname subPackages;
    inherit (args.meta) mainProgram homepage;
    license = args.meta.license.spdxId;
  }
)
