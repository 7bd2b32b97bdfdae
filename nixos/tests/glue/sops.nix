# sops-nix's option sops.secrets (github.com/Mic92/sops-nix,
# modules/sops/default.nix), declared with the parts a configuration sets
# and reads, so that a case can use it as on a machine with sops-nix: the
# secret's path is /run/secrets/<name> by default, and restartUnits lists
# the units a switch restarts when the secret changes.
{ lib, ... }:
{
  options.sops.secrets = lib.mkOption {
    type = lib.types.attrsOf (
      lib.types.submodule (
        { name, ... }:
        {
          options = {
            sopsFile = lib.mkOption { type = lib.types.path; };
            key = lib.mkOption {
              type = lib.types.str;
              default = name;
            };
            path = lib.mkOption {
              type = lib.types.str;
              default = "/run/secrets/${name}";
            };
            mode = lib.mkOption {
              type = lib.types.str;
              default = "0400";
            };
            restartUnits = lib.mkOption {
              type = lib.types.listOf lib.types.str;
              default = [ ];
            };
          };
        }
      )
    );
    default = { };
  };
}
