# expect: ok
# restartOnCredentialChange: a path unit watches the token file and
# triggers a oneshot that try-restarts the mount when the content is not
# what the running mount loaded.
# unit-line: archil-token-r.path PathChanged=/run/archil-secrets/r
# unit-line: archil-token-r.path PathChanged=/run/archil-secrets
# unit-link: archil-token-r.path paths.target.wants/archil-token-r.path
# unit-line: archil-token-r.service ExecStart=/usr/bin/systemctl try-restart archil-mount-r.service
{
  imports = [ ./common/enabled.nix ];
  services.archil.mounts.r = {
    diskName = "myorg/r";
    mountPoint = "/srv/r";
    region = "aws-us-east-1";
    authMethod = "token";
    authTokenFile = "/run/archil-secrets/r";
    restartOnCredentialChange = true;
  };
}
