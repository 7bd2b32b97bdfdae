# What a system build takes from an evaluated configuration, as strings:
# the text of each archil unit as NixOS writes it
# (config.systemd.units."<unit>".text), the .wants/.requires/.upholds
# links NixOS' generateUnits makes for it (nixos/lib/systemd-lib.nix: a
# link `<target>.wants/<unit>` -> `../<unit>` for each wantedBy entry,
# and so on), the archil files under /etc, system packages and kernel
# modules.
{ lib }:
let
  ours = name: lib.hasPrefix "archil-" name;

  links =
    name: unit:
    lib.concatLists (
      lib.mapAttrsToList (dir: targets: map (t: "${t}.${dir}/${name}") targets) {
        wants = unit.wantedBy;
        requires = unit.requiredBy;
        upholds = unit.upheldBy;
      }
    );

  strict = x: builtins.deepSeq x x;
in
rec {
  rendered = config: {
    units = lib.mapAttrs (name: unit: {
      inherit (unit) text;
      links = links name unit;
    }) (lib.filterAttrs (name: unit: ours name && unit.enable) config.systemd.units);
    etc = lib.mapAttrs (_: e: e.source.text) (
      lib.filterAttrs (name: _: lib.hasPrefix "archil/" name) config.environment.etc
    );
    systemPackages = map (p: p.name) config.environment.systemPackages;
    inherit (config.boot) kernelModules;
  };

  # Failed assertions are thrown (as NixOS prints them), then everything is
  # forced, so any other error surfaces with its message.
  checked =
    config:
    let
      failed = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
    in
    if failed != [ ] then
      throw "\nFailed assertions:\n${lib.concatMapStrings (m: "- ${m}\n") failed}"
    else
      strict {
        inherit (config) warnings;
        rendered = rendered config;
      };
}
