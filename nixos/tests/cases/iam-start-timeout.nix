# expect: ok
# TimeoutStartSec covers the IAM precheck: readyTimeoutSec + imdsTimeoutSec
# + 30 s; a token mount has no precheck.
# unit-line: archil-mount-iam.service TimeoutStartSec=65
# unit-line: archil-mount-tok.service TimeoutStartSec=60
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.iam = {
    diskName = "myorg/iam";
    mountPoint = "/srv/iam";
    region = "aws-us-east-1";
    imdsTimeoutSec = 5;
  };
  services.archil.mounts.tok = {
    diskName = "myorg/tok";
    mountPoint = "/srv/tok";
    region = "aws-us-east-1";
    authMethod = "token";
    authTokenFile = "/run/secrets/tok";
    imdsTimeoutSec = 5;
  };
}
