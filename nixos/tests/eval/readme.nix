# The README's NixOS system: `file` is its flake.nix (written beside its
# configuration.nix by readme_test.go), whose outputs are called with
# stand-ins for the inputs: nixpkgs' nixosSystem is NixOS' modules as
# nixos.nix loads them, archil-launch's module is this one, and the
# archil-flake's client is the stub package. Every nixosConfiguration is
# checked as a build would (failed assertions thrown, then rendered).
{
  lib,
  evalNixos,
  checked,
  file,
}:
let
  pkgs = import ./pkgs.nix { inherit lib; };
  inputs = {
    self = inputs;
    nixpkgs.lib = lib // {
      nixosSystem = { modules, ... }: evalNixos modules;
    };
    archil-launch.nixosModules.default = ../../module.nix;
    archil-flake.packages.${pkgs.stdenv.hostPlatform.system}.archil = pkgs.archil-client;
  };
in
lib.mapAttrs (_: system: checked system.config) ((import file).outputs inputs).nixosConfigurations
