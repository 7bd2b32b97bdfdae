# The assertions and warnings of services.archil.mounts: each names the
# option it is about (services.archil.mounts.<name>.<option>), so that a
# mount that would only fail at boot fails evaluation instead, and what is
# legal but risky warns.
{
  lib,
  validate,
  mounts,
  fileSystems,
  services,
}:
let
  unitName = import ./unit-name.nix { inherit lib; };

  # "services.archil.mounts.<name>" and "….<name>.<option>", quoted the way
  # the module system prints option names.
  mountOption = name: lib.showOption [ "services" "archil" "mounts" name ];
  mountOptionOf = name: option: lib.showOption [ "services" "archil" "mounts" name option ];

  isToken = m: m.authMethod == "token";
  atOrUnder = dir: p: p == dir || lib.hasPrefix "${dir}/" p;
  firstProblem = lib.findFirst (p: p != null) null;

  tokenSources = [
    "authToken"
    "authTokenFile"
    "encryptedAuthTokenFile"
    "credstore"
  ];
  tokenSourceCount =
    m:
    lib.count lib.id [
      (m.authToken != null)
      (m.authTokenFile != null)
      (m.encryptedAuthTokenFile != null)
      m.credstore
    ];

  # One assertion per rule and mount, naming the option.
  fieldAssertion = name: option: problem: {
    assertion = problem == null;
    message = "${mountOptionOf name option}: ${toString problem}";
  };

  # Units the mount's service starts after (itself, its .mount unit, the
  # network, and through default dependencies early boot): ordering one of
  # them after the mount as well (wantedBy/requiredBy) is a cycle, which
  # systemd breaks at boot by dropping a job.
  startsAfter =
    name: m:
    [
      "archil-mount-${name}.service"
      "archil-token-${name}.service"
      "archil-token-${name}.path"
      "network-online.target"
      "network.target"
      "network-pre.target"
      "sysinit.target"
      "basic.target"
      "local-fs.target"
      "local-fs-pre.target"
      "sockets.target"
      "paths.target"
      "timers.target"
      "slices.target"
      "swap.target"
    ]
    ++ lib.optional (validate.mountPoint m.mountPoint == null) (unitName.mountUnit m.mountPoint);

  orderingProblem =
    name: m: units:
    let
      cycle = lib.findFirst (u: lib.elem u (startsAfter name m)) null units;
    in
    if cycle == null then
      null
    else
      "${cycle} starts before the mount's service (archil-mount-${name}.service is ordered after it), so it cannot also be ordered after the mount: that is an ordering cycle. Name the services that use the disk instead.";

  mountAssertions =
    name: m:
    [
      {
        assertion = validate.name name == null;
        message = "${mountOption name}: the name ${toString (validate.name name)}";
      }
      (fieldAssertion name "diskName" (validate.diskName m.diskName))
      (fieldAssertion name "mountPoint" (validate.mountPoint m.mountPoint))
      (fieldAssertion name "region" (validate.region m.region))
      (fieldAssertion name "credentialName" (
        if isToken m then validate.credential m.credentialName else null
      ))
      (fieldAssertion name "extraArgs" (validate.extraArgs m.extraArgs))
      (fieldAssertion name "targetCacheMB" (validate.cacheSizes m.maxCacheMB m.targetCacheMB))
      (fieldAssertion name "authTokenFile" (
        if m.authTokenFile == null then null else validate.secretPath m.authTokenFile
      ))
      (fieldAssertion name "encryptedAuthTokenFile" (
        if m.encryptedAuthTokenFile == null then null else validate.secretPath m.encryptedAuthTokenFile
      ))
      (fieldAssertion name "authToken" (if m.authToken == null then null else validate.token m.authToken))
      (fieldAssertion name "restartMaxDelaySec" (
        if m.restartMaxDelaySec < m.restartSec then
          "must not be less than ${mountOptionOf name "restartSec"} (${toString m.restartSec})"
        else
          null
      ))
      (fieldAssertion name "environment" (
        firstProblem (
          map (
            n:
            let
              p = if n == "PATH" then "is set by the unit from its `path`; not settable here" else validate.envName n;
            in
            if p == null then null else "${n}: ${p}"
          ) (lib.attrNames m.environment)
        )
      ))
      (fieldAssertion name "wantedBy" (orderingProblem name m m.wantedBy))
      (fieldAssertion name "requiredBy" (orderingProblem name m m.requiredBy))
      (fieldAssertion name "restartOnCredentialChange" (
        if m.restartOnCredentialChange && !(isToken m && (m.authTokenFile != null || m.encryptedAuthTokenFile != null)) then
          "needs a token file to watch: ${mountOptionOf name "authTokenFile"} or ${mountOptionOf name "encryptedAuthTokenFile"} (a new authToken is a new unit, restarted by a switch with restartIfChanged; a credstore credential is not watched)"
        else
          null
      ))
      {
        assertion = !(isToken m) || tokenSourceCount m == 1;
        message = "${mountOptionOf name "authMethod"} is \"token\", so exactly one of ${
          lib.concatMapStringsSep ", " (mountOptionOf name) tokenSources
        } must be set (found ${toString (tokenSourceCount m)}).";
      }
      {
        assertion = isToken m || tokenSourceCount m == 0;
        message = "${mountOptionOf name "authMethod"} is \"iam\", which uses no token: unset ${mountOptionOf name "authToken"}, authTokenFile, encryptedAuthTokenFile and credstore, or set authMethod = \"token\".";
      }
    ]
    ++ lib.mapAttrsToList (fsName: fs: {
      assertion = !(atOrUnder m.mountPoint fs.mountPoint);
      message = "${mountOptionOf name "mountPoint"}: fileSystems.\"${fsName}\" mounts ${fs.mountPoint}, ${
        if fs.mountPoint == m.mountPoint then "the mount point itself" else "inside the mount point"
      }; the two would cover each other. (A file system above it, such as / or /mnt, is where the mount point lives and is fine.)";
    }) fileSystems;

  mountList = lib.mapAttrsToList (name: m: { inherit name m; }) mounts;

  # One failed assertion for each value of key shared by more than one of
  # list's mounts.
  clashes =
    list: key: describe:
    lib.mapAttrsToList (
      value: names:
      let
        last = lib.last names;
      in
      {
        assertion = false;
        message = describe last value (lib.init names);
      }
    ) (lib.filterAttrs (_: names: lib.length names > 1) (lib.mapAttrs (_: map (x: x.name)) (lib.groupBy key list)));

  duplicateMountPoints = clashes mountList (x: x.m.mountPoint) (
    name: mountPoint: others:
    "${mountOptionOf name "mountPoint"}: ${mountPoint} is also the mount point of ${lib.concatMapStringsSep ", " mountOption others}; each mount needs its own."
  );

  # credstore names are the machine's: two mounts importing one credential
  # would share a token meant for one disk.
  duplicateCredstoreNames = clashes (lib.filter (x: isToken x.m && x.m.credstore) mountList) (x: x.m.credentialName) (
    name: credential: others:
    "${mountOptionOf name "credentialName"}: the credstore credential ${credential} is also imported by ${
      lib.concatMapStringsSep ", " mountOption others
    }; a disk token is scoped to one disk, so each credstore mount needs its own credential (the default is archil-token.<name>)."
  );

  # Pairs (outer, inner) where inner's mount point is under outer's.
  nestedMountPoints = lib.concatMap (
    outer:
    map (inner: {
      assertion = false;
      message = "${mountOptionOf inner.name "mountPoint"}: ${inner.m.mountPoint} is inside ${mountOptionOf outer.name "mountPoint"} (${outer.m.mountPoint}); mount points must not be nested.";
    }) (lib.filter (inner: inner.name != outer.name && lib.hasPrefix "${outer.m.mountPoint}/" inner.m.mountPoint) mountList)
  ) mountList;

  # A service with RequiresMountsFor= on the disk but no dependency on the
  # mount's service: systemd knows a mount only once it exists, so at boot
  # that service neither pulls in nor waits for the mount.
  requiresMountsForPaths =
    svc:
    map (lib.removePrefix "\"") (
      map (lib.removeSuffix "\"") (
        lib.concatMap (lib.splitString " ") (lib.toList (svc.unitConfig.RequiresMountsFor or [ ]))
      )
    );
  blindConsumers =
    name: m:
    lib.concatLists (
      lib.mapAttrsToList (
        svcName: svc:
        let
          unit = "archil-mount-${name}.service";
          depends = lib.elem "${svcName}.service" (m.wantedBy ++ m.requiredBy) || lib.elem unit svc.after;
        in
        lib.optional (
          !depends && lib.any (atOrUnder m.mountPoint) (requiresMountsForPaths svc)
        ) "systemd.services.${svcName} has RequiresMountsFor= on ${m.mountPoint}, the mount point of ${mountOption name}: systemd sees a mount a service makes only once it is made, so that alone neither starts nor waits for the disk. Add requires and after = [ \"${unit}\" ] to it, or list \"${svcName}.service\" in ${mountOptionOf name "requiredBy"}."
      ) (removeAttrs services [ "archil-mount-${name}" ])
    );

  # What the mount's service needs of the lists hardening.nix sets. A list
  # a user adds to keeps it; one replaced with lib.mkForce may not, and the
  # mount would fail only at boot. Each element is one assignment; one
  # starting with "~" denies its words, and when the first does, the list
  # is a deny-list (systemd.exec(5)).
  needed = {
    SystemCallFilter = [ "@mount" ];
    RestrictAddressFamilies = [
      "AF_UNIX"
      "AF_INET"
      "AF_INET6"
    ];
    CapabilityBoundingSet = [ "CAP_SYS_ADMIN" ];
  };
  denied = a: lib.hasPrefix "~" a;
  words = a: lib.filter (w: w != "") (lib.splitString " " (lib.removePrefix "~" a));
  allows =
    assignments: e:
    let
      holds = a: lib.elem e (words a);
      denyList = assignments != [ ] && denied (lib.head assignments);
    in
    if denyList then
      !(lib.any (a: denied a && holds a) assignments)
    else
      assignments == [ ] || (lib.any (a: !(denied a) && holds a) assignments && !(lib.any (a: denied a && holds a) assignments));
  # DeviceAllow: /dev/fuse (or its class), unless nothing is restricted.
  allowsFuse =
    sc:
    let
      devices = lib.concatMap words (lib.toList (sc.DeviceAllow or [ ]));
    in
    (devices == [ ] && (sc.DevicePolicy or "auto") == "auto")
    || lib.any (d: lib.elem d devices) [
      "/dev/fuse"
      "char-misc"
      "char-*"
    ];
  hardeningAssertions =
    name: _:
    let
      sc = services."archil-mount-${name}".serviceConfig;
      problem = setting: what: {
        assertion = false;
        message = "systemd.services.archil-mount-${name}.serviceConfig.${setting} does not allow ${what}, which ${mountOption name} needs to mount (was the list replaced with lib.mkForce? A plain list adds to the module's).";
      };
    in
    lib.concatLists (
      lib.mapAttrsToList (
        setting: essentials:
        map (problem setting) (
          lib.filter (e: !(allows (lib.toList (sc.${setting} or [ ])) e)) essentials
        )
      ) needed
    )
    ++ lib.optional (!(allowsFuse sc)) (problem "DeviceAllow" "/dev/fuse");

  mountWarnings =
    name: m:
    lib.optional (m.authToken != null) "${mountOptionOf name "authToken"} is set: the token is written to the Nix store, which every local user can read. Use authTokenFile, encryptedAuthTokenFile or credstore instead."
    ++ lib.optional (
      validate.mountPoint m.mountPoint == null && unitName.mountUnit m.mountPoint == null
    ) "${mountOptionOf name "mountPoint"} is so long that systemd hashes the name of its .mount unit, which the module cannot name: the unit lacks the explicit After= on it that makes its flushing stop run before systemd's own unmount at shutdown (systemd's default dependencies still order the two)."
    ++ map (
      target: "${mountOptionOf name "requiredBy"} has ${target}: if the disk cannot be mounted, ${target} fails too, and so does a boot that waits for it. Put the target in ${mountOptionOf name "wantedBy"} and the services that cannot run without the disk in requiredBy."
    ) (lib.filter (lib.hasSuffix ".target") m.requiredBy)
    ++ blindConsumers name m
    ++ lib.optional (
      m.restartOnCredentialChange && m.authTokenFile != null && lib.any (d: lib.hasPrefix d m.authTokenFile) symlinkedSecretDirs
    ) "${mountOptionOf name "restartOnCredentialChange"}: ${m.authTokenFile} is in a directory that agenix (/run/agenix) or sops-nix (/run/secrets) replaces through a symlink at each activation, which a path unit sees only by chance (measured: e2e/rotation_test.go). For agenix, set age.secrets.<secret>.symlink = false and a path outside /run/agenix (the new file is then moved into place, which is seen); for sops-nix, use sops.secrets.<secret>.restartUnits = [ \"archil-mount-${name}.service\" ] instead.";

  # Secret managers' directories that are symlinks to a generation.
  symlinkedSecretDirs = [
    "/run/agenix/"
    "/run/secrets/"
  ];
in
{
  assertions =
    lib.concatLists (lib.mapAttrsToList mountAssertions mounts)
    ++ lib.concatLists (lib.mapAttrsToList hardeningAssertions mounts)
    ++ duplicateMountPoints
    ++ duplicateCredstoreNames
    ++ nestedMountPoints;
  warnings = lib.concatLists (lib.mapAttrsToList mountWarnings mounts);
}
