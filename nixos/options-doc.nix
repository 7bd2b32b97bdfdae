# The module's options as a JSON list (lib.optionAttrSetToDocList), for
# docs/options.md. nixos_test.go renders the Markdown and checks it is up to
# date; `UPDATE_GOLDEN=1 go test ./nixos/` rewrites it.
{ lib }:
let
  eval = lib.evalModules {
    modules = [
      ./module.nix
      ./tests/eval/stubs.nix
      {
        _module.args = {
          pkgs = import ./tests/eval/pkgs.nix { inherit lib; };
          utils = import ./tests/eval/utils.nix { inherit lib; };
        };
      }
    ];
  };
in
map (o: {
  inherit (o) name description type;
  default = o.default or null;
  example = o.example or null;
}) (lib.filter (o: o.visible && !o.internal) (lib.optionAttrSetToDocList eval.options.services.archil))
