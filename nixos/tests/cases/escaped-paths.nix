# expect: ok
# Mount points and secrets whose names systemd must read literally: a space
# and a non-ASCII letter (escaped in the .mount name, which NixOS'
# unitNameType would refuse otherwise), a "%" (a specifier unless doubled),
# a "-" (escaped in unit names).
# unit-line: archil-mount-space.service After=network-online.target mnt-my\x20disk-donn\xc3\xa9es.mount
# unit-line: archil-mount-space.service RequiresMountsFor="/mnt/my disk"
# unit-line: archil-mount-space.service Description=Archil disk myorg/space on /mnt/my disk/données (archil-launch)
# unit-line: archil-mount-pct.service After=network-online.target mnt-x\x2dy-a\x25b.mount
# unit-line: archil-mount-pct.service RequiresMountsFor=/mnt/x-y
# unit-line: archil-mount-pct.service Description=Archil disk myorg/pct on /mnt/x-y/a%%b (archil-launch)
# unit-line: archil-mount-pct.service LoadCredential=archil-token:/run/secrets/50%%/token
# unit-line: archil-mount-pct.service Environment="NO_PROXY=10.0.0.0/8,%%"
# unit-line: archil-mount-bs.service Description=Archil disk myorg/bs on /mnt/x\ (archil-launch)
# unit-line: archil-mount-bs.service RequiresMountsFor=/mnt
{ pkgs, ... }:
{
  services.archil = {
    enable = true;
    package = pkgs.archil-client;
    mounts.space = {
      diskName = "myorg/space";
      mountPoint = "/mnt/my disk/données";
      region = "aws-us-east-1";
    };
    mounts.bs = {
      diskName = "myorg/bs";
      mountPoint = "/mnt/x\\";
      region = "aws-us-east-1";
    };
    mounts.pct = {
      diskName = "myorg/pct";
      mountPoint = "/mnt/x-y/a%b";
      region = "aws-us-east-1";
      authMethod = "token";
      authTokenFile = "/run/secrets/50%/token";
      environment.NO_PROXY = "10.0.0.0/8,%";
    };
  };
}
