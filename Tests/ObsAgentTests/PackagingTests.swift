import Foundation
import ObsAgent
import ObsXRay
import Testing
import Yams

/// The container image cannot be built here (no container engine), so its runtime stage is checked
/// against what the binary links (`ldd`, `dpkg -S`, `apt-cache depends`) and what the config expects.
@Suite(.enabled(if: TestServices.hasBinary, "needs the built obs-agent"))
struct PackagingTests {
    static let dockerfile = TestServices.repositoryRoot.appendingPathComponent("packaging/container/Dockerfile")

    /// The packages the runtime stage installs (the apt-get line after `RUNTIME-PACKAGES`).
    static func runtimePackages(_ text: String) -> [String] {
        let lines = text.split(separator: "\n").map(String.init)
        guard let marker = lines.firstIndex(where: { $0.contains("RUNTIME-PACKAGES") }) else { return [] }
        var packages: [String] = []
        var collecting = false
        for line in lines[(marker + 1)...] {
            let words = line.replacingOccurrences(of: "\\", with: " ").split(separator: " ").map(String.init)
            if line.contains("apt-get install") {
                packages += words.drop { $0 != "--no-install-recommends" }.dropFirst()
                collecting = true
            } else if line.trimmingCharacters(in: .whitespaces).hasPrefix("&&") {
                break
            } else if collecting {
                packages += words
            }
        }
        return packages.filter { !$0.isEmpty && !$0.hasPrefix("-") && $0 != "&&" }
    }

    static func run(_ path: String, _ arguments: [String]) async throws -> String {
        let (status, out, err) = try await ChildProcess.run(
            path, arguments, environment: TestServices.cleanEnvironment())
        #expect(status == 0, "\(path) \(arguments): \(err)")
        return out
    }

    @Test func theRuntimeStageProvidesEveryLibraryTheBinaryLinks() async throws {
        let text = try String(contentsOf: Self.dockerfile, encoding: .utf8)
        let packages = Self.runtimePackages(text)
        #expect(Set(packages).isSuperset(of: ["libpq5", "libcurl4", "libsystemd0", "ca-certificates"]), "\(packages)")
        #expect(text.contains("--static-swift-stdlib"), "the Swift runtime and Foundation go into the binary")
        // What those packages pull in, plus what every Debian base image has.
        let depends = try await Self.run(
            "/usr/bin/apt-cache",
            [
                "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks",
                "--no-replaces", "--no-enhances",
            ]
                + packages)
        var provided = Set(
            depends.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .map {
                    $0.hasPrefix("Depends:") || $0.hasPrefix("PreDepends:")
                        ? String($0.split(separator: " ").last ?? "") : $0
                }
                .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "<>")) })
        provided.formUnion([
            "libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "liblzma5", "libcap2", "libgcrypt20",
            "libgpg-error0",
        ])
        let ldd = try await Self.run("/usr/bin/ldd", [TestServices.agentPath])
        var missing: [String] = []
        for line in ldd.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard let arrow = parts.firstIndex(of: "=>"), arrow + 1 < parts.count else { continue }
            let path = String(parts[arrow + 1])
            if path.hasPrefix("/opt/swift") || path.contains("/swift/") { continue }  // static in the image
            let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            var owner = ""
            for candidate in [real, real.hasPrefix("/usr") ? String(real.dropFirst(4)) : "/usr" + real] {
                let (status, out, _) = try await ChildProcess.run(
                    "/usr/bin/dpkg", ["-S", candidate], environment: TestServices.cleanEnvironment())
                if status == 0 {
                    owner = String(out.split(separator: ":").first ?? "")
                    break
                }
            }
            if owner.isEmpty || !provided.contains(owner) {
                missing.append("\(path) (\(owner.isEmpty ? "no package" : owner))")
            }
        }
        #expect(missing.isEmpty, "libraries the runtime stage does not provide: \(missing)")
    }

    /// Package.swift's `agentLinking`: GnuTLS (loaded for librtmp and libldap, never used) finds the
    /// agent's hook and skips its load-time initialisation; the agent exports nothing else, and its
    /// relative relocations are packed (checked on the built binary, whatever the configuration).
    @Test func theAgentIsLinkedForItsResidentMemory() async throws {
        var environment = TestServices.cleanEnvironment()
        environment["LD_DEBUG"] = "bindings"
        let (status, _, err) = try await ChildProcess.run(TestServices.agentPath, ["--help"], environment: environment)
        #expect(status == 0)
        let bindings = err.split(separator: "\n").filter { $0.contains("`_gnutls_global_init_skip'") }
        #expect(bindings.count == 1, "GnuTLS asks for the hook once: \(bindings)")
        #expect(
            bindings.allSatisfy { $0.contains("libgnutls") && $0.contains("to \(TestServices.agentPath)") },
            "GnuTLS's hook binds to the agent's definition: \(bindings)")

        let exported = try await Self.run("/usr/bin/nm", ["-D", "--defined-only", TestServices.agentPath])
            .split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
            .filter { !$0.hasPrefix("_end") && !$0.hasPrefix("_edata") && !$0.hasPrefix("__bss_start") }
        #expect(exported == ["_gnutls_global_init_skip"], "\(exported)")
        let dynamic = try await Self.run("/usr/bin/readelf", ["-d", TestServices.agentPath])
        #expect(dynamic.contains("(RELR)"), "relative relocations packed")
        #expect(dynamic.contains("PIE"), "still position-independent")
    }

    @Test func theImageMatchesWhatTheAgentExpects() async throws {
        let text = try String(contentsOf: Self.dockerfile, encoding: .utf8)
        // The packaged config parses, with the image's defaults.
        let config = try AgentConfig.load(
            path: TestServices.repositoryRoot.appendingPathComponent("packaging/obs-agent.yaml").path,
            environment: ["DB_PASSWORD": "x", "OBS_DB_INSTANCE": "ecom-db"])
        #expect(text.contains("COPY packaging/obs-agent.yaml /etc/obs-agent/obs-agent.yaml"))
        #expect(text.contains("CMD [\"--config\", \"/etc/obs-agent/obs-agent.yaml\"]"))
        // Ports: X-Ray where the packaged config listens, health where the agent serves it.
        #expect(config.xray?.port == 2000 && text.contains("EXPOSE 2000/udp 2000/tcp"))
        #expect(config.healthAddress?.port == 9099 && text.contains("9099/tcp"))
        // The spool is a volume and the agent's spool directory.
        #expect(
            text.contains("ENV OBS_SPOOL_DIR=/var/lib/obs-agent/spool")
                && text.contains("VOLUME [\"/var/lib/obs-agent/spool\"]"))
        // Not root, and the health check runs a command the binary has.
        #expect(text.contains("USER obs"))
        #expect(text.contains("\"healthcheck\", \"--url\", \"http://127.0.0.1:9099/healthz\""))
        _ = try await Self.run(TestServices.agentPath, ["healthcheck", "--help"])
    }

    @Test func theECSTemplateCarriesThePolicyObsctlPrintsAndWhatTheAgentNeeds() async throws {
        let root = TestServices.repositoryRoot
        let template =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: root.appendingPathComponent("packaging/ecs/obs-agent.cfn.json")))
            as! [String: Any]
        let resources = template["Resources"] as! [String: [String: Any]]
        let role = resources["TaskRole"]!["Properties"] as! [String: Any]
        let policy = ((role["Policies"] as! [[String: Any]])[0]["PolicyDocument"]) as! [String: Any]
        let obsctl = (TestServices.agentPath as NSString).deletingLastPathComponent + "/obsctl"
        let printed = try await Self.run(
            obsctl, ["iam-policy", "--config", root.appendingPathComponent("packaging/obs-agent.yaml").path])
        let expected = try JSONSerialization.jsonObject(with: Data(printed.utf8)) as! [String: Any]
        #expect(
            NSDictionary(dictionary: policy).isEqual(to: expected),
            "the task role's policy is obsctl iam-policy's: regenerate packaging/ecs")

        let task = resources["TaskDefinition"]!["Properties"] as! [String: Any]
        let container = (task["ContainerDefinitions"] as! [[String: Any]])[0]
        let stopTimeout = container["StopTimeout"] as? Int ?? 0
        #expect(
            stopTimeout > Int(Agent.RunOptions().shutdownDeadline) + 10,
            "ECS waits longer than the agent's graceful shutdown")
        let secrets = container["Secrets"] as! [[String: Any]]
        #expect(
            secrets.contains { $0["Name"] as? String == "DB_PASSWORD" },
            "the password comes from Secrets Manager, as the services' does")
        let ports = container["PortMappings"] as! [[String: Any]]
        #expect(ports.contains { $0["ContainerPort"] as? Int == 2000 && $0["Protocol"] as? String == "udp" })
        let mounts = container["MountPoints"] as! [[String: Any]]
        #expect(
            mounts.contains { $0["ContainerPath"] as? String == "/var/log/journal" && $0["ReadOnly"] as? Bool == true })
        #expect(mounts.contains { $0["ContainerPath"] as? String == "/var/lib/obs-agent/spool" })
        #expect(task["RequiresCompatibilities"] as? [String] == ["EC2"], "the host journal needs the EC2 launch type")
    }

    @Test func theKubernetesManifestsHoldTogether() throws {
        let root = TestServices.repositoryRoot.appendingPathComponent("packaging/kubernetes")
        var documents: [[String: Any]] = []
        for file in ["serviceaccount.yaml", "configmap.yaml", "deployment.yaml", "daemonset.yaml", "statefulset.yaml"] {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            for document in try Yams.load_all(yaml: text) {
                documents.append(try #require(document as? [String: Any], "\(file)"))
            }
        }
        func find(_ kind: String, _ name: String) throws -> [String: Any] {
            try #require(
                documents.first {
                    $0["kind"] as? String == kind && ($0["metadata"] as? [String: Any])?["name"] as? String == name
                })
        }
        for document in documents {
            let metadata = document["metadata"] as? [String: Any]
            #expect(document["apiVersion"] != nil && metadata?["namespace"] as? String == "observability")
        }
        let account = try find("ServiceAccount", "obs-agent")
        let annotations = (account["metadata"] as? [String: Any])?["annotations"] as? [String: String]
        #expect(annotations?["eks.amazonaws.com/role-arn"]?.hasPrefix("arn:aws:iam::") == true, "IRSA")
        let config = try find("ConfigMap", "obs-agent")
        let packaged = try String(
            contentsOf: TestServices.repositoryRoot.appendingPathComponent("packaging/obs-agent.yaml"), encoding: .utf8)
        #expect(
            (config["data"] as? [String: String])?["obs-agent.yaml"] == packaged,
            "the ConfigMap carries packaging/obs-agent.yaml")

        for (kind, name) in [
            ("Deployment", "obs-agent"), ("DaemonSet", "obs-agent-node"), ("StatefulSet", "obs-agent-sharded"),
        ] {
            let workload = try find(kind, name)
            let pod =
                ((workload["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any] ?? [:]
            #expect(pod["serviceAccountName"] as? String == "obs-agent")
            #expect((pod["terminationGracePeriodSeconds"] as? Int ?? 0) > Int(Agent.RunOptions().shutdownDeadline) + 10)
            let container = try #require((pod["containers"] as? [[String: Any]])?.first)
            let resources = container["resources"] as? [String: [String: String]]
            #expect(
                resources?["requests"]?["cpu"] != nil && resources?["requests"]?["memory"] != nil, "\(kind) requests")
            #expect(resources?["limits"]?["cpu"] != nil && resources?["limits"]?["memory"] != nil, "\(kind) limits")
            let ports = container["ports"] as? [[String: Any]] ?? []
            #expect(ports.contains { $0["containerPort"] as? Int == 2000 && $0["protocol"] as? String == "UDP" })
            let env = container["env"] as? [[String: Any]] ?? []
            #expect(
                env.contains {
                    $0["name"] as? String == "DB_PASSWORD"
                        && (($0["valueFrom"] as? [String: Any])?["secretKeyRef"]) != nil
                })
            let probe = (container["livenessProbe"] as? [String: Any])?["exec"] as? [String: [String]]
            #expect(probe?["command"] == ["/usr/bin/obs-agent", "healthcheck"])
            let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
            if kind == "DaemonSet" {
                #expect(ports.contains { $0["hostPort"] as? Int == 2000 && $0["protocol"] as? String == "UDP" })
                #expect(
                    mounts.contains {
                        $0["mountPath"] as? String == "/var/log/journal" && $0["readOnly"] as? Bool == true
                    })
                let volumes = pod["volumes"] as? [[String: Any]] ?? []
                #expect(
                    volumes.contains { ($0["hostPath"] as? [String: Any])?["path"] as? String == "/var/log/journal" })
            }
            #expect(mounts.contains { $0["mountPath"] as? String == "/var/lib/obs-agent/spool" })
            if kind == "StatefulSet" {
                // Each replica its shard: the pod's index, and a count equal to the replicas.
                let spec = workload["spec"] as? [String: Any] ?? [:]
                let index = env.first { $0["name"] as? String == "OBS_SHARD_INDEX" }
                let fieldRef = (index?["valueFrom"] as? [String: Any])?["fieldRef"] as? [String: String]
                #expect(fieldRef?["fieldPath"] == "metadata.labels['apps.kubernetes.io/pod-index']")
                let count = env.first { $0["name"] as? String == "OBS_SHARD_COUNT" }?["value"] as? String
                #expect(count.flatMap(Int.init) == spec["replicas"] as? Int, "OBS_SHARD_COUNT is the replica count")
                #expect((spec["replicas"] as? Int ?? 0) > 1)
            }
        }
        #expect(packaged.contains("shard: ${OBS_SHARD_INDEX:-0}/${OBS_SHARD_COUNT:-1}"))
    }
}
