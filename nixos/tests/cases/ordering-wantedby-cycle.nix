# expect: error services.archil.mounts.early.wantedBy: sysinit.target starts before the mount's service
# expect-also: that is an ordering cycle
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.early = {
    diskName = "myorg/early";
    mountPoint = "/mnt/early";
    region = "aws-us-east-1";
    wantedBy = [ "sysinit.target" ];
  };
}
