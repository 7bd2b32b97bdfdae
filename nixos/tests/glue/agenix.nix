# agenix's option age.secrets (github.com/ryantm/agenix, modules/age.nix),
# declared with the parts a configuration sets and reads, so that a case
# can use it as on a machine with agenix: the secret's path is
# /run/agenix/<name> by default.
{ lib, ... }:
{
  options.age.secrets = lib.mkOption {
    type = lib.types.attrsOf (
      lib.types.submodule (
        { name, ... }:
        {
          options = {
            file = lib.mkOption { type = lib.types.path; };
            path = lib.mkOption {
              type = lib.types.str;
              default = "/run/agenix/${name}";
            };
            mode = lib.mkOption {
              type = lib.types.str;
              default = "0400";
            };
            owner = lib.mkOption {
              type = lib.types.str;
              default = "0";
            };
            symlink = lib.mkOption {
              type = lib.types.bool;
              default = true;
            };
          };
        }
      )
    );
    default = { };
  };
}
