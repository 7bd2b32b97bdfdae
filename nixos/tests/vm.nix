# NixOS VM test: archil-fake (the test double of the client) as
# services.archil.package; a token mount from a file, one from the
# credstore, one encrypted with systemd-creds, and an IAM mount against
# amazon-ec2-metadata-mock; a consumer with PrivateTmp=; a switch that
# changes a unit and must not remount it; a reboot with writes held back;
# `archil-launch --check`.
#
#   nix build .#checks.x86_64-linux.vm
#
# Called from flake.nix as pkgs.testers.runNixOSTest (import ./vm.nix { inherit self; }).
# It cannot run where the repository's tests run (no KVM, no Nix store);
# nixos_test.go checks that its nodes evaluate with the module.
{ self }:
{ lib, ... }:
let
  fixtureToken = "vm-fixture-token-0123456789";
  # The token as a pattern that does not match itself: grep's own command
  # line holds the pattern, and must not count as a leak.
  tokenPattern = "vm-fixture-token-012345678[9]";
  imdsPort = 1338;
  tokenMount = {
    region = "aws-us-east-1";
    authMethod = "token";
    wantedBy = [ "multi-user.target" ];
  };
in
{
  name = "archil-launch";

  nodes.machine =
    { pkgs, ... }:
    let
      packages = self.packages.${pkgs.stdenv.hostPlatform.system};
      # The module runs <package>/bin/archil.
      archilFake = pkgs.runCommand "archil-fake-client" { meta.mainProgram = "archil"; } ''
        mkdir -p $out/bin
        ln -s ${lib.getExe packages.archil-fake} $out/bin/archil
      '';
    in
    {
      imports = [ self.nixosModules.default ];

      services.archil = {
        enable = true;
        package = archilFake;
        launcherPackage = packages.archil-launch;
        mounts = {
          data = tokenMount // {
            diskName = "testorg/data";
            mountPoint = "/mnt/archil/data";
            authTokenFile = "/run/archil-test/token";
            requiredBy = [ "consumer.service" ];
          };
          vault = tokenMount // {
            diskName = "testorg/vault";
            mountPoint = "/srv/vault";
            credstore = true; # credential archil-token.vault
          };
          secure = tokenMount // {
            diskName = "testorg/secure";
            mountPoint = "/srv/secure";
            encryptedAuthTokenFile = "/etc/credstore.encrypted/archil-secure";
            credentialName = "archil-secure";
          };
          models = {
            diskName = "testorg/models";
            mountPoint = "/srv/models";
            region = "aws-us-east-1";
            readOnly = true;
            environment.AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://127.0.0.1:${toString imdsPort}";
            wantedBy = [ "multi-user.target" ];
          };
        };
      };

      # The token, as a secret manager would place it (not in the store:
      # this fixture is no secret), the credstore's copy, and the fake's
      # copy to check it against.
      systemd.tmpfiles.rules = [
        "d /run/archil-test 0700 root root -"
        "f+ /run/archil-test/token 0400 root root - ${fixtureToken}"
        "d /etc/credstore 0700 root root -"
        "f+ /etc/credstore/archil-token.vault 0400 root root - ${fixtureToken}"
        "d /etc/credstore.encrypted 0700 root root -"
        "d /var/lib/archil-fake 0700 root root -"
        "d /var/lib/archil-fake/knobs 0755 root root -"
        "f+ /var/lib/archil-fake/expect-token 0600 root root - ${fixtureToken}"
      ];

      # The encrypted token, made with the real systemd-creds at boot, the
      # way the README tells an operator to make it.
      systemd.services.archil-test-encrypt = {
        description = "Encrypt the test token with systemd-creds";
        before = [ "archil-mount-secure.service" ];
        requiredBy = [ "archil-mount-secure.service" ];
        after = [ "systemd-tmpfiles-setup.service" ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          ExecStart = "${pkgs.systemd}/bin/systemd-creds encrypt --name=archil-secure /run/archil-test/token /etc/credstore.encrypted/archil-secure";
        };
      };

      # Needs the data disk (requiredBy above) and has a mount namespace of
      # its own: it sees the disk because it starts after it is mounted.
      systemd.services.consumer = {
        description = "A service with PrivateTmp= that reads the data disk";
        wantedBy = [ "multi-user.target" ];
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          PrivateTmp = true;
          ExecStart = "${pkgs.bash}/bin/bash -c 'ls /mnt/archil/data > /tmp/seen && cp /tmp/seen /run/consumer-saw'";
        };
      };

      # The metadata mock, listening before the IAM mount starts.
      systemd.services.ec2-metadata-mock = {
        description = "EC2 instance metadata mock";
        wantedBy = [ "multi-user.target" ];
        before = [ "archil-mount-models.service" ];
        serviceConfig = {
          ExecStart = "${lib.getExe pkgs.ec2-metadata-mock} --port ${toString imdsPort}";
          ExecStartPost = "${pkgs.bash}/bin/bash -c 'for i in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/${toString imdsPort}) 2>/dev/null && exit 0; sleep 0.05; done; exit 1'";
        };
      };
      systemd.services.archil-mount-models = {
        wants = [ "ec2-metadata-mock.service" ];
        after = [ "ec2-metadata-mock.service" ];
      };

      # A configuration that changes the data mount's unit: a switch to it
      # must leave the mount alone (restartIfChanged = false).
      specialisation.changed.configuration.services.archil.mounts.data.maxCacheMB = 1024;

      environment.systemPackages = [ pkgs.jq ];
    };

  testScript = ''
    mounts = {"data": "/mnt/archil/data", "vault": "/srv/vault", "secure": "/srv/secure", "models": "/srv/models"}

    def check_mounts():
        for name, mp in mounts.items():
            machine.wait_for_unit(f"archil-mount-{name}.service")
            machine.succeed(f"findmnt -n -o FSTYPE {mp} | grep -x fuse.archil")
        # Read-only is set by the launcher on the host's view of the mount.
        machine.succeed("findmnt -n -o OPTIONS /srv/models | grep -E '(^|,)ro(,|$)'")
        machine.fail("touch /srv/models/x")
        # Every check passes; --check changes nothing.
        machine.succeed("archil-launch --check")
        machine.succeed("archil-launch --check --json | jq -e . >/dev/null")

    def no_leak(where, command):
        out = machine.succeed(command + " || true")
        assert out.strip() == "", f"the token appears in {where}: {out}"

    start_all()
    machine.wait_for_open_port(${toString imdsPort})
    check_mounts()

    with subtest("the token appears in no unit, command line, config or journal"):
        # -R: the files under /etc are symlinks into the store.
        no_leak("the units and configs", "grep -Rl '${tokenPattern}' /etc/systemd/system /etc/archil")
        no_leak("a command line", "grep -l '${tokenPattern}' /proc/[0-9]*/cmdline")
        no_leak("the journal", "journalctl -b | grep '${tokenPattern}'")

    with subtest("a consumer with PrivateTmp= sees the disk"):
        machine.wait_for_unit("consumer.service")
        machine.succeed("test -f /run/consumer-saw")

    with subtest("a switch that changes a mount's unit does not remount it"):
        before = machine.succeed("systemctl show -P InvocationID archil-mount-data.service")
        machine.succeed("/run/current-system/specialisation/changed/bin/switch-to-configuration test")
        after = machine.succeed("systemctl show -P InvocationID archil-mount-data.service")
        assert before == after, "switch-to-configuration restarted archil-mount-data.service"
        machine.succeed("findmnt -n -o FSTYPE /mnt/archil/data | grep -x fuse.archil")

    with subtest("data written before a reboot, held back by the client, is there after it"):
        machine.succeed("echo 600 > /var/lib/archil-fake/knobs/flush-delay")
        machine.succeed("echo persisted > /mnt/archil/data/hello")
        machine.shutdown()
        machine.start()
        check_mounts()
        machine.succeed("grep -x persisted /mnt/archil/data/hello")
        machine.succeed("rm /var/lib/archil-fake/knobs/flush-delay")

    with subtest("stop flushes and unmounts"):
        machine.succeed("systemctl stop archil-mount-data.service")
        machine.fail("findmnt /mnt/archil/data")
  '';
}
