# expect: ok
# warning: systemd.services.app has RequiresMountsFor= on /srv/m, the mount point of services.archil.mounts.m: systemd sees a mount a service makes only once it is made
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.m = {
    diskName = "myorg/m";
    mountPoint = "/srv/m";
    region = "aws-us-east-1";
  };
  systemd.services.app = {
    unitConfig.RequiresMountsFor = "/srv/m/models";
    serviceConfig.ExecStart = "/run/current-system/sw/bin/app /srv/m/models";
  };
}
