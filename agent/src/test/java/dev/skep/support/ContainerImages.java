package dev.skep.support;

/**
 * The container images {@code .ci/build-images} builds from Debian's packages (no registry), which the container
 * tier ({@code ContainersIT}) runs. Skep's own image is not here: that test builds it from the {@code Dockerfile}
 * and the jar under test, on {@link #BASE_JRE}.
 */
public final class ContainerImages {
    /** Debian bookworm minbase with openjdk-17-jre-headless: the Dockerfile's {@code RUNTIME_IMAGE} here. */
    public static final String BASE_JRE = "localhost/skep-base-jre:bookworm";
    /** Debian's redis-server and redis-cli, user redis = uid 999, WORKDIR /data: in place of {@code redis:7}. */
    public static final String REDIS_REPOSITORY = "localhost/skep-redis";
    public static final String REDIS_TAG = "7";
    /** How to get them. */
    public static final String BUILD = "sudo .ci/build-images";

    private ContainerImages() {
    }
}
