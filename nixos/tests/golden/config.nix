# The mounts rendered into the golden units and config files beside this
# file (see README.md): one per way of getting a credential.
{
  services.archil.mounts = {
    # Token from a secret file (agenix), with a proxy and cache settings,
    # remounted when the file changes.
    data = {
      diskName = "myorg/data";
      mountPoint = "/mnt/archil/data";
      region = "aws-us-east-1";
      authMethod = "token";
      authTokenFile = "/run/agenix/archil-data";
      shared = true;
      maxCacheMB = 10240;
      targetCacheMB = 8192;
      writebackCache = true;
      environment.HTTPS_PROXY = "http://proxy.example.com:3128";
      restartOnCredentialChange = true;
    };

    # EC2 instance role, read-only, required by an application.
    models = {
      diskName = "myorg/models:/v2";
      mountPoint = "/srv/models";
      region = "aws-eu-west-1";
      readOnly = true;
      logLevel = "debug";
      imdsTimeoutSec = 2;
      requiredBy = [ "inference.service" ];
    };

    # Token encrypted with systemd-creds.
    secure = {
      diskName = "dsk-0123456789abcdef";
      mountPoint = "/var/lib/archil/secure";
      region = "gcp-us-central1";
      authMethod = "token";
      encryptedAuthTokenFile = "/etc/credstore.encrypted/archil-secure";
      credentialName = "archil-secure";
      extraArgs = [ "--dentry-ttl-secs=30" ];
      readyTimeoutSec = 60;
      stopTimeoutSec = 120;
    };

    # Token from the system credential store.
    vault = {
      diskName = "ops@example.com/vault";
      mountPoint = "/data/vault";
      region = "aws-us-west-2";
      authMethod = "token";
      credstore = true;
      credentialName = "archil-vault";
      enableXattrs = true;
      restartIfChanged = true;
      wantedBy = [ "multi-user.target" ];
    };

    # Token written into the Nix store (warns).
    inline = {
      diskName = "myorg/scratch";
      mountPoint = "/mnt/archil/scratch";
      region = "aws-us-east-1";
      authMethod = "token";
      authToken = "fixture-token-not-a-secret";
      restartSec = 5;
      restartMaxDelaySec = 600;
    };
  };

  # A user's additions to the hardening lists of one mount (a client that
  # uses the kernel keyring, a tun device and a higher I/O priority, say):
  # they add to what the mount needs. Each list alone would stop it: no
  # /dev/fuse, no mount(2), no AF_UNIX for the readiness notification, no
  # CAP_SYS_ADMIN. (Chosen so that systemd-analyze security still rates
  # the unit within TestSecurity's bound.)
  systemd.services.archil-mount-vault.serviceConfig = {
    DeviceAllow = [ "/dev/net/tun rw" ];
    SystemCallFilter = [ "@keyring" ];
    RestrictAddressFamilies = [ "AF_PACKET" ];
    CapabilityBoundingSet = [ "CAP_SYS_NICE" ];
    # A scalar set plainly replaces the module's default.
    KeyringMode = "shared";
  };
}
