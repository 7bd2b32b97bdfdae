# The module's options as a JSON list (lib.optionAttrSetToDocList), for
# docs/options.md, read from the module evaluated inside NixOS
# (tests/eval/nixos.nix). nixos_test.go renders the Markdown and checks it
# is up to date; `UPDATE_GOLDEN=1 go test ./nixos/` rewrites it.
{ lib, nixos }:
let
  eval = import ./tests/eval/nixos.nix { inherit lib nixos; } [ ./module.nix ];
in
map (o: {
  inherit (o) name description type;
  default = o.default or null;
  example = o.example or null;
}) (lib.filter (o: o.visible && !o.internal) (lib.optionAttrSetToDocList eval.options.services.archil))
