# expect: ok
# A service that cannot run without the disk, named on the mount's side:
# it requires the mount (a .requires link, as NixOS writes requiredBy) and
# is ordered after it (Before= on the mount's side). A second service
# declares the dependency on its own side, the other supported pattern.
# unit-line: archil-mount-m.service Before=remote-fs.target app.service
# unit-link: archil-mount-m.service app.service.requires/archil-mount-m.service
# unit-link: archil-mount-m.service remote-fs.target.wants/archil-mount-m.service
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.m = {
    diskName = "myorg/m";
    mountPoint = "/srv/m";
    region = "aws-us-east-1";
    requiredBy = [ "app.service" ];
  };
  systemd.services.app.serviceConfig.ExecStart = "/run/current-system/sw/bin/app /srv/m";
  systemd.services.other = {
    requires = [ "archil-mount-m.service" ];
    after = [ "archil-mount-m.service" ];
    unitConfig.RequiresMountsFor = "/srv/m";
    serviceConfig.ExecStart = "/run/current-system/sw/bin/other /srv/m";
  };
}
