# Skep's image: the agent's shaded jar on a JRE, run as a non-root user.
#   docker build -t skep:dev .        (or: podman build -t skep:dev .)
# Stage "build" builds with the Maven wrapper on a JDK; the tests run in CI, not here (they need redis-server,
# network namespaces and root).
#
# Build arguments (the defaults are the official Temurin images, for any machine with registry access):
#   BUILD_IMAGE    the JDK image of stage "build"
#   RUNTIME_IMAGE  the JRE image the agent runs on (any with `java` on the PATH, groupadd and useradd)
# With --target host-jar the image takes the jar already built on the host (agent/target/skep.jar) instead, and
# the build needs no network at all (stage "build" is not built):
#   podman build --network none --target host-jar --build-arg RUNTIME_IMAGE=localhost/skep-base-jre:bookworm .
# (.ci/build-images does this, on a JRE image made from Debian's packages); BuildKit and podman build only the stages
# a target needs, so neither image needs the other's input. A target, not a build argument naming
# the stage: podman 4.3 (buildah 1.28) does not follow a stage named by a build argument's default value.
ARG BUILD_IMAGE=eclipse-temurin:17-jdk
ARG RUNTIME_IMAGE=eclipse-temurin:17-jre

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# dependencies first: this layer stays cached while only the sources change
COPY .mvn/ .mvn/
COPY mvnw pom.xml ./
COPY agent/pom.xml agent/
COPY harness/pom.xml harness/
RUN ./mvnw -B -q -pl agent dependency:go-offline
COPY agent/src/ agent/src/
COPY agent/build/ agent/build/
# only the product: the test harness (chaos, network namespaces) is not in the image
# (no class-data sharing archive here: it must be made by the JRE that runs it, below)
RUN ./mvnw -B -q -pl agent -DskipTests -Dskep.cds.skip=true package && cp agent/target/skep.jar /skep.jar

# what both images are, but for where the jar comes from
FROM ${RUNTIME_IMAGE} AS runtime
# a fixed numeric user, so `runAsNonRoot` can verify it without reading /etc/passwd
RUN groupadd --system --gid 10001 skep && useradd --system --uid 10001 --gid 10001 --no-create-home skep
USER 10001:10001
# peer 7380, write 6380, read 6381, Sentinel 26379, admin HTTP 8080 (the agent's defaults)
EXPOSE 6380 6381 26379 7380 8080
# two malloc arenas rather than one per thread that ever allocated (8 per core): less native memory held
ENV MALLOC_ARENA_MAX=2
# the JVM's options come from JAVA_TOOL_OPTIONS (the chart sets them); the command is `agent` in the chart. The
# class-data sharing archive made below maps the classes an agent loads at start instead of loading them from the
# jar (a faster start, docs/benchmarks.md#agent-footprint); a JVM that cannot use it starts as without, silently.
ENTRYPOINT ["java", "-XX:SharedArchiveFile=/opt/skep/skep.jsa", "-Xlog:cds=off", "-Xlog:cds+dynamic=off", "-jar", "/opt/skep/skep.jar"]
CMD ["agent"]

# --target host-jar: the jar as built on the host (./mvnw -pl agent package). Root-owned, mode 0644 as Maven wrote
# it: readable by any uid (the chart runs the pod as 999, not as 10001).
FROM runtime AS host-jar
COPY agent/target/skep.jar /opt/skep/skep.jar
# the archive, made by this image's own JRE (an archive is tied to the JVM build and the jar that made it): a 3 s run
# of a real agent on the build's loopback (dev.skep.app.CdsTraining; no network, no redis). Written as root, readable
# by any uid, like the jar.
USER 0
RUN SKEP_LOG_LEVEL=ERROR java -XX:ArchiveClassesAtExit=/opt/skep/skep.jsa -Xlog:cds=off -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -cp /opt/skep/skep.jar dev.skep.app.CdsTraining && chmod 0644 /opt/skep/skep.jsa
USER 10001:10001

# the default: the jar built in stage "build", and its archive as above
FROM runtime
COPY --from=build /skep.jar /opt/skep/skep.jar
USER 0
RUN SKEP_LOG_LEVEL=ERROR java -XX:ArchiveClassesAtExit=/opt/skep/skep.jsa -Xlog:cds=off -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -cp /opt/skep/skep.jar dev.skep.app.CdsTraining && chmod 0644 /opt/skep/skep.jsa
USER 10001:10001
