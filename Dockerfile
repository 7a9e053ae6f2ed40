# Skep's image: the agent's shaded jar on a JRE, run as a non-root user.
#   docker build -t skep:dev .        (or: podman build -t skep:dev .)
# Stage "build" builds with the Maven wrapper on a JDK; the tests run in CI, not here (they need redis-server,
# network namespaces and root).
#
# Build arguments (the defaults are the official Temurin images, for any machine with registry access):
#   BUILD_IMAGE    the JDK image of stage "build"
#   RUNTIME_IMAGE  the JRE image the agent runs on (any with `java` on the PATH and groupadd/useradd)
#   JAR_FROM       "build": the jar is built inside (needs Maven Central); "host": the jar already built on the
#                  host at agent/target/skep.jar is copied in, and the build needs no network at all:
#   podman build --network none --build-arg JAR_FROM=host --build-arg RUNTIME_IMAGE=localhost/skep-base-jre:bookworm .
#                  (.ci/build-images does this, on a JRE image made from Debian's packages)
ARG BUILD_IMAGE=eclipse-temurin:17-jdk
ARG RUNTIME_IMAGE=eclipse-temurin:17-jre
ARG JAR_FROM=build

FROM ${BUILD_IMAGE} AS jar-build
WORKDIR /src
# dependencies first: this layer stays cached while only the sources change
COPY .mvn/ .mvn/
COPY mvnw pom.xml ./
COPY agent/pom.xml agent/
COPY harness/pom.xml harness/
RUN ./mvnw -B -q -pl agent dependency:go-offline
COPY agent/src/ agent/src/
# only the product: the test harness (chaos, network namespaces) is not in the image
RUN ./mvnw -B -q -pl agent -DskipTests package && cp agent/target/skep.jar /skep.jar

# the jar as built on the host (./mvnw -pl agent package); this stage runs nothing, so it needs no base image
FROM scratch AS jar-host
COPY agent/target/skep.jar /skep.jar

# the stage named by JAR_FROM; the other one is never built
FROM jar-${JAR_FROM} AS jar

FROM ${RUNTIME_IMAGE}
# a fixed numeric user, so `runAsNonRoot` can verify it without reading /etc/passwd
RUN groupadd --system --gid 10001 skep && useradd --system --uid 10001 --gid 10001 --no-create-home skep
# root-owned, mode 0644 as Maven wrote it: readable by any uid (the chart runs the pod as 999, not as 10001)
COPY --from=jar /skep.jar /opt/skep/skep.jar
USER 10001:10001
# peer 7380, write 6380, read 6381, Sentinel 26379, admin HTTP 8080 (the agent's defaults)
EXPOSE 6380 6381 26379 7380 8080
# the JVM's options come from JAVA_TOOL_OPTIONS (the chart sets them); the command is `agent` in the chart
ENTRYPOINT ["java", "-jar", "/opt/skep/skep.jar"]
CMD ["agent"]
