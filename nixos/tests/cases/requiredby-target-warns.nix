# expect: ok
# warning: services.archil.mounts.m.requiredBy has multi-user.target: if the disk cannot be mounted, multi-user.target fails too
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.m = {
    diskName = "myorg/m";
    mountPoint = "/srv/m";
    region = "aws-us-east-1";
    requiredBy = [ "multi-user.target" ];
  };
}
