# expect: ok
# warning: services.archil.mounts.long.mountPoint is so long that systemd hashes the name of its .mount unit
# unit-line: archil-mount-long.service After=network-online.target
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.long = {
      diskName = "myorg/long";
      mountPoint = "/mnt/${builtins.concatStringsSep "" (builtins.genList (_: "x-") 120)}";
      region = "aws-us-east-1";
    };
  };
}
