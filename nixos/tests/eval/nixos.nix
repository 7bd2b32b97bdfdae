# NixOS itself, as far as this machine has it: `nixos` is a nixpkgs tree
# (or the pinned copy of the NixOS modules the tests use, laid out the
# same); its eval-config-minimal.nix evaluates the NixOS modules that
# define what module.nix sets (systemd units and their text, /etc,
# assertions and warnings, kernel modules, system packages), glue.nix
# declares the options of the modules not loaded, and pkgs.nix stands in
# for the package set. Returns a function from a list of modules to the
# evaluation (config, options).
{ lib, nixos }:
let
  nixosModules = map (p: nixos + "/nixos/modules/${p}") [
    "config/i18n.nix"
    "config/locale.nix"
    "config/system-path.nix"
    "misc/assertions.nix"
    "misc/extra-arguments.nix"
    "misc/meta.nix"
    "system/boot/kernel.nix"
    "system/boot/systemd.nix"
    "system/build.nix"
    "system/etc/etc.nix"
  ];
  pkgs = import ./pkgs.nix { inherit lib; };
  inherit (import (nixos + "/nixos/lib/eval-config-minimal.nix") { inherit lib; }) evalModules;
in
modules:
evalModules {
  modules =
    nixosModules
    ++ [
      ./glue.nix
      { _module.args = { inherit pkgs; }; }
    ]
    ++ modules;
}
