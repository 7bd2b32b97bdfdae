# What every case of a working machine has: the module enabled with a
# client package. A case imports it and adds its mounts.
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
  };
}
